import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { Account } from "../db/client";
import { forbidden, notFound, unprocessable } from "../lib/errors";
import { requireToken, type TokenInfo } from "../oauth/middleware";
import { findAccountById, resolveHandleOrUrl } from "../services/accounts";
import {
  accountStatuses,
  accountsByIds,
  endorsedAccounts,
  familiarFollowers,
  findAccountByHandle,
  followersOf,
  followingOf,
  listsContaining,
  searchAccounts,
  type PagedAccount,
} from "../services/account-queries";
import { listFeaturedTags, presentFeaturedTags } from "../services/featured-tags";
import { followAccount, unfollow } from "../services/following";
import {
  block,
  blockedDomains,
  domainIsBlocked,
  endorse,
  isBlockedBy,
  isBlocking,
  MAX_NOTE_LENGTH,
  mute,
  removeFromFollowers,
  setNote,
  unblock,
  unendorse,
  unmute,
} from "../services/relationships";
import { typedTagName } from "../services/tags";
import { presentAccounts, presentAccount } from "./entities/account";
import { presentRelationship, presentRelationships } from "./entities/relationship";
import { presentStatuses } from "./entities/status";
import { p, readParsed } from "./input";
import { readPage, setLink, setOffsetLink } from "./pagination";

/** https://docs.joinmastodon.org/methods/accounts/ (verify_credentials lives in profile.ts) */
export const accountsApi = new Hono<AppEnv>();

/**
 * For reads Mastodon serves without a token: none is fine, but a token that is sent must be valid and
 * carry the scope (401/403 otherwise), as Mastodon's `authorize_if_got_token!`.
 */
export function optionalToken(scope: string): MiddlewareHandler<AppEnv> {
  const strict = requireToken(scope);
  return async (c, next) => {
    if (!c.req.header("authorization")) return next();
    return strict(c, next);
  };
}

/** Whether the request carries the owner's (validated) token. */
export function viewerIsOwner(c: Context<AppEnv>): boolean {
  return (c.get("token") as TokenInfo | undefined)?.userToken === true;
}

/** The account named by the `:id` path parameter, or 404. */
export async function accountParam(c: Context<AppEnv>): Promise<Account> {
  const id = c.req.param("id") ?? "";
  const account = /^\d{1,20}$/.test(id) ? await findAccountById(c.var.ctx, id) : undefined;
  if (!account) throw notFound();
  return account;
}

/** Serializes accounts (in order) and sets the Link header from their pagination ids. */
export async function pagedAccountsJson(c: Context<AppEnv>, rows: PagedAccount[]) {
  const presented = await presentAccounts(
    c.var.ctx,
    rows.map((r) => r.account),
  );
  setLink(
    c,
    rows.map((r) => r.pageId),
  );
  return c.json(rows.map((r) => presented.get(r.account.id)));
}

const ID = "/api/v1/accounts/:id{[0-9]+}";
const IdList = z.object({ id: p.list(p.id(), 100).default([]) });

// Static paths first: Hono matches in registration order.

accountsApi.get("/api/v1/accounts/relationships", requireToken("read:follows", { user: true }), async (c) => {
  const { id } = await readParsed(c, IdList.extend({ with_suspended: p.bool().optional() }));
  const found = await accountsByIds(c.var.ctx, id);
  return c.json(await presentRelationships(c.var.ctx, found));
});

accountsApi.get(
  "/api/v1/accounts/familiar_followers",
  requireToken("read:follows", { user: true }),
  async (c) => {
    const { id } = await readParsed(c, IdList);
    const known = await accountsByIds(c.var.ctx, id);
    const map = await familiarFollowers(
      c.var.ctx,
      known.map((a) => a.id),
    );
    const presented = await presentAccounts(c.var.ctx, [...map.values()].flat());
    return c.json(
      known.map((a) => ({
        id: a.id,
        accounts: (map.get(a.id) ?? []).map((f) => presented.get(f.id)),
      })),
    );
  },
);

const Lookup = z.object({ acct: p.str(600).pipe(z.string().min(1, "is missing")) });
accountsApi.get("/api/v1/accounts/lookup", optionalToken("read:accounts"), async (c) => {
  const { acct } = await readParsed(c, Lookup);
  const ctx = c.var.ctx;
  let account = await findAccountByHandle(ctx, acct);
  const handle = acct.trim().replace(/^@/, "");
  if (!account && viewerIsOwner(c) && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(handle)) {
    // Mastodon looks up stored accounts only; Perch also resolves an unknown handle by WebFinger for
    // the owner's apps (so a handle opens as a profile), never for anonymous requests.
    try {
      account = await resolveHandleOrUrl(ctx, handle);
    } catch {
      account = undefined;
    }
  }
  if (!account) throw notFound();
  return c.json(await presentAccount(ctx, account));
});

const Search = z.object({
  q: p.str(600).pipe(z.string().min(1, "is missing")),
  limit: p.int(1, 1000).optional(),
  offset: p.int(0, 10_000).optional(),
  resolve: p.bool().optional(),
  following: p.bool().optional(),
});
accountsApi.get("/api/v1/accounts/search", optionalToken("read:accounts"), async (c) => {
  const input = await readParsed(c, Search);
  const ctx = c.var.ctx;
  const limit = Math.min(input.limit ?? 40, 80);
  const offset = input.offset ?? 0;
  const found: Account[] = [];
  const q = input.q.trim();
  const handle = q.replace(/^@/, "");
  const resolvable = /^https?:\/\/\S+$/i.test(q) || /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(handle);
  if (resolvable && offset === 0) {
    let exact = /^https?:/i.test(q) ? undefined : await findAccountByHandle(ctx, handle);
    // Resolving reaches other servers: only for the owner, and only when asked.
    if (!exact && input.resolve && viewerIsOwner(c)) {
      try {
        exact = await resolveHandleOrUrl(ctx, q);
      } catch {
        exact = undefined;
      }
    }
    if (exact && (!input.following || (await presentRelationship(ctx, exact)).following)) found.push(exact);
  }
  if (!/^https?:/i.test(q)) {
    const more = await searchAccounts(ctx, q, { following: input.following ?? false, limit, offset });
    for (const a of more) if (!found.some((f) => f.id === a.id)) found.push(a);
  }
  const list = found.slice(0, limit);
  const presented = await presentAccounts(ctx, list);
  setOffsetLink(c, { limit, offset }, list.length);
  return c.json(list.map((a) => presented.get(a.id)));
});

accountsApi.get("/api/v1/accounts", optionalToken("read:accounts"), async (c) => {
  const { id } = await readParsed(c, IdList);
  const found = await accountsByIds(c.var.ctx, id);
  const presented = await presentAccounts(c.var.ctx, found);
  return c.json(found.map((a) => presented.get(a.id)));
});

accountsApi.get(ID, optionalToken("read:accounts"), async (c) => {
  return c.json(await presentAccount(c.var.ctx, await accountParam(c)));
});

const StatusesQuery = z.object({
  exclude_replies: p.bool().optional(),
  exclude_reblogs: p.bool().optional(),
  only_media: p.bool().optional(),
  pinned: p.bool().optional(),
  tagged: p.str(200).optional(),
});
accountsApi.get(`${ID}/statuses`, optionalToken("read:statuses"), async (c) => {
  const account = await accountParam(c);
  const q = await readParsed(c, StatusesQuery);
  const page = readPage(c);
  const tagged = q.tagged ? typedTagName(q.tagged) : undefined;
  if (tagged === null) return c.json([]);
  // An account that blocks the owner shows them nothing, as on Mastodon.
  if (viewerIsOwner(c) && (await isBlockedBy(c.var.ctx, account.id))) return c.json([]);
  const rows = await accountStatuses(
    c.var.ctx,
    account,
    viewerIsOwner(c),
    {
      excludeReplies: q.exclude_replies,
      excludeReblogs: q.exclude_reblogs,
      onlyMedia: q.only_media,
      pinned: q.pinned,
      tagged,
    },
    page,
  );
  if (!q.pinned)
    setLink(
      c,
      rows.map((s) => s.id),
    );
  return c.json(await presentStatuses(c.var.ctx, rows, { filterContext: "account" }));
});

accountsApi.get(`${ID}/followers`, optionalToken("read:accounts"), async (c) => {
  const account = await accountParam(c);
  return pagedAccountsJson(
    c,
    await followersOf(c.var.ctx, account.id, readPage(c, { maxLimit: 80, defaultLimit: 40 })),
  );
});

accountsApi.get(`${ID}/following`, optionalToken("read:accounts"), async (c) => {
  const account = await accountParam(c);
  return pagedAccountsJson(
    c,
    await followingOf(c.var.ctx, account.id, readPage(c, { maxLimit: 80, defaultLimit: 40 })),
  );
});

accountsApi.get(`${ID}/featured_tags`, optionalToken("read:accounts"), async (c) => {
  const account = await accountParam(c);
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  if (account.id !== owner.id) return c.json([]);
  return c.json(await presentFeaturedTags(ctx, await listFeaturedTags(ctx)));
});

accountsApi.get(`${ID}/endorsements`, optionalToken("read:accounts"), async (c) => {
  const account = await accountParam(c);
  const { owner } = await c.var.ctx.instance();
  const page = readPage(c, { maxLimit: 80, defaultLimit: 40 });
  // Remote accounts' endorsements are not fetched: only the owner's are known.
  return pagedAccountsJson(c, account.id === owner.id ? await endorsedAccounts(c.var.ctx, page) : []);
});

accountsApi.get(`${ID}/lists`, requireToken("read:lists", { user: true }), async (c) => {
  const account = await accountParam(c);
  const rows = await listsContaining(c.var.ctx, account.id);
  return c.json(
    rows.map((l) => ({ id: l.id, title: l.title, replies_policy: l.repliesPolicy, exclusive: l.exclusive })),
  );
});

accountsApi.get(`${ID}/identity_proofs`, optionalToken("read:accounts"), async (c) => {
  await accountParam(c);
  return c.json([]);
});

// Relationship changes: each answers with the Relationship after the change.

const FollowInput = z.object({
  reblogs: p.bool().optional(),
  notify: p.bool().optional(),
  languages: p.list(z.string().regex(/^[a-z]{2,3}$/i, "is not a language code"), 100).optional(),
});
accountsApi.post(`${ID}/follow`, requireToken("write:follows", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const account = await accountParam(c);
  const input = await readParsed(c, FollowInput);
  if (account.local) throw forbidden("You cannot follow yourself");
  // As Mastodon's FollowService: no follows across a block (either way), a blocked domain or a move.
  if (
    account.movedTo ||
    (await isBlocking(ctx, account.id)) ||
    (await isBlockedBy(ctx, account.id)) ||
    domainIsBlocked(await blockedDomains(ctx), account.domain)
  )
    throw forbidden("This action is not allowed");
  await followAccount(ctx, account, {
    reblogs: input.reblogs,
    notify: input.notify,
    ...(input.languages !== undefined
      ? { languages: input.languages.length ? input.languages.map((l) => l.toLowerCase()) : null }
      : {}),
  });
  return c.json(await presentRelationship(ctx, account));
});

accountsApi.post(`${ID}/unfollow`, requireToken("write:follows", { user: true }), async (c) => {
  const account = await accountParam(c);
  await unfollow(c.var.ctx, account);
  return c.json(await presentRelationship(c.var.ctx, account));
});

accountsApi.post(`${ID}/remove_from_followers`, requireToken("write:follows", { user: true }), async (c) => {
  const account = await accountParam(c);
  await removeFromFollowers(c.var.ctx, account);
  return c.json(await presentRelationship(c.var.ctx, account));
});

accountsApi.post(`${ID}/block`, requireToken("write:blocks", { user: true }), async (c) => {
  const account = await accountParam(c);
  await block(c.var.ctx, account);
  return c.json(await presentRelationship(c.var.ctx, account));
});

accountsApi.post(`${ID}/unblock`, requireToken("write:blocks", { user: true }), async (c) => {
  const account = await accountParam(c);
  await unblock(c.var.ctx, account);
  return c.json(await presentRelationship(c.var.ctx, account));
});

const MuteInput = z.object({
  notifications: p.bool().optional(),
  duration: p.int(0, 10 * 365 * 24 * 3600).optional(),
});
accountsApi.post(`${ID}/mute`, requireToken("write:mutes", { user: true }), async (c) => {
  const account = await accountParam(c);
  const input = await readParsed(c, MuteInput);
  await mute(c.var.ctx, account, { notifications: input.notifications, durationSeconds: input.duration });
  return c.json(await presentRelationship(c.var.ctx, account));
});

accountsApi.post(`${ID}/unmute`, requireToken("write:mutes", { user: true }), async (c) => {
  const account = await accountParam(c);
  await unmute(c.var.ctx, account);
  return c.json(await presentRelationship(c.var.ctx, account));
});

for (const path of ["pin", "endorse"]) {
  accountsApi.post(`${ID}/${path}`, requireToken("write:accounts", { user: true }), async (c) => {
    const account = await accountParam(c);
    await endorse(c.var.ctx, account);
    return c.json(await presentRelationship(c.var.ctx, account));
  });
}
for (const path of ["unpin", "unendorse"]) {
  accountsApi.post(`${ID}/${path}`, requireToken("write:accounts", { user: true }), async (c) => {
    const account = await accountParam(c);
    await unendorse(c.var.ctx, account);
    return c.json(await presentRelationship(c.var.ctx, account));
  });
}

const NoteInput = z.object({
  comment: z
    .preprocess(
      (v) => (Array.isArray(v) ? v[0] : v),
      z.string().max(MAX_NOTE_LENGTH, `is longer than ${MAX_NOTE_LENGTH} characters`),
    )
    .optional(),
});
accountsApi.post(`${ID}/note`, requireToken("write:accounts", { user: true }), async (c) => {
  const account = await accountParam(c);
  const { comment } = await readParsed(c, NoteInput);
  const { owner } = await c.var.ctx.instance();
  if (account.id === owner.id) throw unprocessable("You cannot add a note about yourself");
  await setNote(c.var.ctx, account, comment ?? "");
  return c.json(await presentRelationship(c.var.ctx, account));
});
