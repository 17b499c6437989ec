import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, NewAccount } from "../db/client";
import { accounts, remoteKeys } from "../db/schema";
import { Actor } from "../federation/schemas";
import { sanitizeHtml } from "../lib/html/sanitize";
import { newId } from "../lib/ids";
import { truncate } from "../lib/text/clean";
import { decodeEd25519PublicKey } from "../lib/multikey";
import { RemoteFetchError } from "../lib/remote-fetch";
import { resolveHandle } from "../lib/webfinger-client";
import { fetchDocument, fetchOptions } from "./signing";
import { isolateCache } from "../lib/isolate-cache";
import { forgetKeys } from "./known-keys";

/** How long a fetched remote profile is used before it is fetched again on demand. */
const PROFILE_TTL_MS = 24 * 60 * 60 * 1000;

export class InvalidActorError extends Error {
  override name = "InvalidActorError";
}

export async function findAccountByUri(ctx: Ctx, uri: string): Promise<Account | undefined> {
  const rows = await ctx.db.select().from(accounts).where(eq(accounts.uri, uri)).limit(1);
  return rows[0];
}

export async function findAccountById(ctx: Ctx, id: string): Promise<Account | undefined> {
  const rows = await ctx.db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  return rows[0];
}

/**
 * The account for an actor URI: from D1 when known and fresh, otherwise fetched (signed by the instance
 * actor), validated and stored. A stale profile is still returned when the refetch fails.
 */
export async function resolveAccount(
  ctx: Ctx,
  uri: string,
  opts: { refresh?: boolean } = {},
): Promise<Account> {
  const memo = accountMemo(ctx);
  const remembered = memo.get(uri);
  if (remembered && !opts.refresh) return remembered;
  const account = await resolveUncached(ctx, uri, opts);
  memo.set(uri, account);
  return account;
}

/**
 * Accounts resolved within one Ctx (a request, or a queue batch where the same sender often appears
 * many times), so each costs one query per batch rather than one per activity.
 */
const memos = new WeakMap<Ctx, Map<string, Account>>();
function accountMemo(ctx: Ctx): Map<string, Account> {
  let memo = memos.get(ctx);
  if (!memo) memos.set(ctx, (memo = new Map()));
  return memo;
}

/** Forgets a memoized account (after it was deleted or changed). */
export function forgetAccount(ctx: Ctx, uri: string): void {
  memos.get(ctx)?.delete(uri);
  authors.delete(uri);
}

/**
 * Remote accounts as resolved in this isolate within the last minute, for relay ingestion, where a
 * few hundred authors each send post after post: resolving each one's account again would be a D1
 * query per relayed activity. Storing or forgetting an account in this isolate updates it; another
 * isolate's change shows here within the minute, and a profile is refreshed on its own TTL anyway.
 */
const authors = isolateCache<string, Account>({ ttlMs: 60_000, max: 5000 });

export async function resolveAuthor(ctx: Ctx, uri: string): Promise<Account> {
  const cached = authors.get(uri);
  if (cached) return cached;
  const account = await resolveAccount(ctx, uri);
  authors.set(uri, account);
  return account;
}

async function resolveUncached(ctx: Ctx, uri: string, opts: { refresh?: boolean }): Promise<Account> {
  const known = await findAccountByUri(ctx, uri);
  if (known?.local) return known;
  const fresh = known?.fetchedAt && Date.now() - Date.parse(known.fetchedAt) < PROFILE_TTL_MS;
  if (known && fresh && !opts.refresh) return known;
  try {
    return await fetchAccount(ctx, uri);
  } catch (e) {
    if (known && e instanceof RemoteFetchError && e.reason !== "gone") return known;
    throw e;
  }
}

/** Fetches an actor document and stores it. Throws RemoteFetchError or InvalidActorError. */
export async function fetchAccount(ctx: Ctx, uri: string): Promise<Account> {
  const { document } = await fetchDocument(ctx, uri);
  return storeActor(ctx, document);
}

/** Validates an actor document (already known to come from its own origin) and upserts it with its keys. */
export async function storeActor(ctx: Ctx, document: unknown): Promise<Account> {
  const parsed = Actor.safeParse(document);
  if (!parsed.success)
    throw new InvalidActorError(`invalid actor: ${parsed.error.issues[0]?.message ?? "?"}`);
  const actor = parsed.data;
  const host = new URL(actor.id).host;
  const values: NewAccount = {
    id: newId(),
    uri: actor.id,
    url: actor.url ?? null,
    local: false,
    type: actor.type,
    username: actor.preferredUsername,
    domain: host,
    displayName: truncate(actor.name ?? "", 200),
    note: await sanitizeHtml(actor.summary ?? ""),
    avatarUrl: actor.icon[0] ?? null,
    headerUrl: actor.image[0] ?? null,
    inbox: actor.inbox,
    sharedInbox: actor.endpoints?.sharedInbox ?? null,
    outbox: actor.outbox ?? null,
    followersUrl: actor.followers ?? null,
    followingUrl: actor.following ?? null,
    featuredUrl: actor.featured ?? null,
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers ?? false,
    discoverable: actor.discoverable ?? false,
    indexable: actor.indexable ?? false,
    fields: await Promise.all(
      actor.attachment.map(async (f) => ({ name: f.name, value: await sanitizeHtml(f.value) })),
    ),
    alsoKnownAs: actor.alsoKnownAs,
    movedTo: actor.movedTo ?? null,
    fetchedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  const { id: _id, ...update } = values;
  const keyRows = actorKeys(actor);
  const [rows] = await ctx.db.batch([
    ctx.db
      .insert(accounts)
      .values(values)
      .onConflictDoUpdate({ target: accounts.uri, set: update })
      .returning(),
    ...keyRows.map((k) =>
      ctx.db
        .insert(remoteKeys)
        .values(k)
        .onConflictDoUpdate({
          target: remoteKeys.keyId,
          set: { ownerUri: k.ownerUri, kind: k.kind, material: k.material, fetchedAt: k.fetchedAt },
        }),
    ),
  ]);
  const row = rows[0];
  if (!row) throw new Error("upsert returned no account");
  accountMemo(ctx).set(row.uri, row);
  forgetKeys(keyRows.map((k) => k.keyId));
  if (authors.get(row.uri)) authors.set(row.uri, row);
  return row;
}

/** The keys an actor lists for itself: RSA publicKey(s) owned by it and Ed25519 Multikeys it controls. */
export function actorKeys(actor: Actor) {
  const fetchedAt = new Date().toISOString();
  const keys: { keyId: string; ownerUri: string; kind: string; material: string; fetchedAt: string }[] = [];
  for (const k of actor.publicKey) {
    if (k.owner === actor.id)
      keys.push({ keyId: k.id, ownerUri: actor.id, kind: "rsa", material: k.publicKeyPem, fetchedAt });
  }
  for (const m of actor.assertionMethod) {
    if (m.controller !== actor.id) continue;
    try {
      decodeEd25519PublicKey(m.publicKeyMultibase);
      keys.push({
        keyId: m.id,
        ownerUri: actor.id,
        kind: "ed25519",
        material: m.publicKeyMultibase,
        fetchedAt,
      });
    } catch {
      // Not an Ed25519 Multikey: ignored, as FEP-521a allows other key types we do not verify.
    }
  }
  return keys;
}

/**
 * An account from a handle (`user@host`, `@user@host`, `acct:…`) or an actor URL; `refresh` fetches
 * the actor again even when a fresh copy is stored.
 */
export async function resolveHandleOrUrl(
  ctx: Ctx,
  input: string,
  opts: { refresh?: boolean } = {},
): Promise<Account> {
  const trimmed = input.trim();
  if (/^https?:\/\//i.test(trimmed)) return resolveAccount(ctx, trimmed, opts);
  const uri = await resolveHandle(trimmed, fetchOptions(ctx));
  return resolveAccount(ctx, uri, opts);
}
