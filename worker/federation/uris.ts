import type { Config } from "../config";

/** Every local URI Perch mints, in one place. They live on WEB_DOMAIN and never change once federated. */
export function uris(config: Config) {
  const base = `${config.scheme}://${config.webDomain}`;
  const actor = `${base}/users/${config.username}`;
  return {
    base,
    actor,
    mainKey: `${actor}#main-key`,
    ed25519Key: `${actor}#ed25519-key`,
    inbox: `${actor}/inbox`,
    outbox: `${actor}/outbox`,
    followers: `${actor}/followers`,
    following: `${actor}/following`,
    featured: `${actor}/collections/featured`,
    sharedInbox: `${base}/inbox`,
    profileUrl: `${base}/@${config.username}`,
    instanceActor: `${base}/actor`,
    instanceKey: `${base}/actor#main-key`,
    status: (id: string) => `${actor}/statuses/${id}`,
    statusActivity: (id: string) => `${actor}/statuses/${id}/activity`,
    statusUrl: (id: string) => `${base}/@${config.username}/${id}`,
    activity: (id: string) => `${base}/activities/${id}`,
    handle: `${config.username}@${config.accountDomain}`,
  };
}

export type Uris = ReturnType<typeof uris>;

/** The local status id in a URI minted by `uris().status`, or null for anything else. */
export function localStatusId(config: Config, uri: string): string | null {
  const prefix = `${uris(config).actor}/statuses/`;
  if (!uri.startsWith(prefix)) return null;
  const id = uri.slice(prefix.length);
  return /^\d{1,20}$/.test(id) ? id : null;
}
