import type { Config } from "../config";
import { mimeFromExtension } from "../lib/media/sniff";
import type { Instance } from "../services/instance";
import { ACTOR_CONTEXT } from "./jsonld";
import { uris } from "./uris";

/**
 * The owner as an ActivityPub Person, the way Mastodon peers expect it: RSA `publicKey` for HTTP
 * signatures, an Ed25519 Multikey in `assertionMethod` for FEP-8b32 proofs (FEP-521a), and
 * `webfinger` (FEP-2c59) naming the handle on ACCOUNT_DOMAIN.
 */
export function renderActor(config: Config, { row, owner }: Instance): Record<string, unknown> {
  const u = uris(config);
  const doc: Record<string, unknown> = {
    "@context": ACTOR_CONTEXT,
    id: u.actor,
    type: owner.type === "Service" ? "Service" : "Person",
    preferredUsername: config.username,
    name: owner.displayName,
    summary: owner.note,
    url: u.profileUrl,
    inbox: u.inbox,
    outbox: u.outbox,
    followers: u.followers,
    following: u.following,
    featured: u.featured,
    endpoints: { sharedInbox: u.sharedInbox },
    manuallyApprovesFollowers: owner.manuallyApprovesFollowers,
    discoverable: owner.discoverable,
    indexable: owner.indexable,
    published: owner.createdAt,
    webfinger: u.handle,
    alsoKnownAs: owner.alsoKnownAs,
    attachment: owner.fields.map((f) => ({ type: "PropertyValue", name: f.name, value: f.value })),
    publicKey: { id: u.mainKey, owner: u.actor, publicKeyPem: row.rsaPublicKeyPem },
    assertionMethod: [
      { id: u.ed25519Key, type: "Multikey", controller: u.actor, publicKeyMultibase: row.ed25519PublicKey },
    ],
  };
  if (owner.movedTo) doc.movedTo = owner.movedTo;
  if (owner.avatarUrl) doc.icon = image(owner.avatarUrl);
  if (owner.headerUrl) doc.image = image(owner.headerUrl);
  return doc;
}

/** An avatar or header as an Image, with its type when known (Mastodon keeps only known types). */
function image(url: string): Record<string, unknown> {
  const mediaType = mimeFromExtension(url);
  return { type: "Image", ...(mediaType ? { mediaType } : {}), url };
}

/** The instance actor (an Application), which signs fetches made on the server's own behalf. */
export function renderInstanceActor(config: Config, { row }: Instance): Record<string, unknown> {
  const u = uris(config);
  return {
    "@context": ACTOR_CONTEXT,
    id: u.instanceActor,
    type: "Application",
    preferredUsername: config.webDomain,
    inbox: `${u.instanceActor}/inbox`,
    outbox: `${u.instanceActor}/outbox`,
    endpoints: { sharedInbox: u.sharedInbox },
    manuallyApprovesFollowers: true,
    url: `${u.base}/about`,
    publicKey: { id: u.instanceKey, owner: u.instanceActor, publicKeyPem: row.appRsaPublicKeyPem },
  };
}
