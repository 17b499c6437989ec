import type { Account, Status } from "../../worker/db/client";
import type { Visibility } from "../../worker/db/schema";
import { parseNote, storeRemoteNote } from "../../worker/services/remote-statuses";
import { storeActor } from "../../worker/services/accounts";
import { PUBLIC } from "../../worker/federation/jsonld";
import { request, testCtx } from "./app";
import { bearer } from "./oauth";

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * Calls the Mastodon API as a client would: `api("POST", "/api/v1/statuses", token, { status: "hi" })`
 * sends JSON; pass a FormData or URLSearchParams to send a multipart or form body instead.
 */
export async function api<T = any>(
  method: string,
  path: string,
  token?: string,
  body?: Record<string, unknown> | FormData | URLSearchParams,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const init: RequestInit = { method, headers: { ...(token ? bearer(token) : {}), ...headers } };
  if (body instanceof FormData || body instanceof URLSearchParams) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await request(path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the raw text is returned
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Stores a remote account as if its actor document had been fetched (no network). */
export async function remoteAccount(
  username: string,
  host = "remote.example",
  extra: Record<string, unknown> = {},
): Promise<Account> {
  const id = `https://${host}/users/${username}`;
  return storeActor(testCtx(), {
    "@context": "https://www.w3.org/ns/activitystreams",
    id,
    type: "Person",
    preferredUsername: username,
    name: username,
    url: `https://${host}/@${username}`,
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    followers: `${id}/followers`,
    following: `${id}/following`,
    endpoints: { sharedInbox: `https://${host}/inbox` },
    ...extra,
  });
}

let seq = 0;

/** Stores a remote status by `author` as if it had arrived (no network). */
export async function remoteStatus(
  author: Account,
  opts: {
    content?: string;
    visibility?: Visibility;
    inReplyTo?: string;
    tags?: string[];
    mentions?: string[];
    published?: string;
    extra?: Record<string, unknown>;
  } = {},
): Promise<Status> {
  const id = `${author.uri}/statuses/${Date.now()}${seq++}`;
  const visibility = opts.visibility ?? "public";
  const followers = author.followersUrl ?? `${author.uri}/followers`;
  const to =
    visibility === "public" ? [PUBLIC] : visibility === "direct" ? (opts.mentions ?? []) : [followers];
  const cc = visibility === "public" ? [followers] : visibility === "unlisted" ? [PUBLIC] : [];
  const note = parseNote({
    id,
    type: "Note",
    attributedTo: author.uri,
    content: opts.content ?? "<p>Hello</p>",
    published: opts.published ?? new Date().toISOString(),
    to,
    cc,
    inReplyTo: opts.inReplyTo ?? null,
    tag: [
      ...(opts.tags ?? []).map((t) => ({
        type: "Hashtag",
        name: `#${t}`,
        href: `https://${author.domain}/tags/${t}`,
      })),
      ...(opts.mentions ?? []).map((m) => ({ type: "Mention", href: m, name: m })),
    ],
    ...opts.extra,
  });
  return storeRemoteNote(testCtx(), note, author);
}
