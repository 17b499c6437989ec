import { and, asc, desc, eq, exists, inArray, isNull, like, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import {
  accounts,
  blocks,
  domainBlocks,
  endorsements,
  follows,
  listAccounts,
  lists,
  mediaAttachments,
  mutes,
  pins,
  statuses,
  statusTags,
} from "../db/schema";
import { pageOrder, pageRows, pageWhere, type Page } from "../api/pagination";
import { isFollowing } from "./following";
import { addressedSql, blockedSql, boostShownSql, muteActiveSql, row } from "./visibility";

export interface AccountStatusesQuery {
  excludeReplies?: boolean;
  excludeReblogs?: boolean;
  onlyMedia?: boolean;
  pinned?: boolean;
  /** A normalized tag name. */
  tagged?: string;
}

/**
 * An account's statuses as `viewer` may see them, newest first: anyone sees public and unlisted posts;
 * the owner sees all of their own, and of others the followers-only posts of accounts they follow and
 * anything that mentions them.
 */
export async function accountStatuses(
  ctx: Ctx,
  account: Account,
  viewerIsOwner: boolean,
  q: AccountStatusesQuery,
  page: Page,
): Promise<Status[]> {
  const { owner } = await ctx.instance();
  const conds: (SQL | undefined)[] = [eq(statuses.accountId, account.id), isNull(statuses.deletedAt)];
  if (!viewerIsOwner) {
    conds.push(inArray(statuses.visibility, ["public", "unlisted"]));
  } else if (account.id !== owner.id) {
    const visible = (await isFollowing(ctx, owner.id, account.id))
      ? (["public", "unlisted", "private"] as const)
      : (["public", "unlisted"] as const);
    conds.push(or(inArray(statuses.visibility, [...visible]), addressedSql(owner, row("statuses"))));
  }
  if (q.excludeReplies) {
    // Self-replies (threads) and boosts stay, as on Mastodon.
    conds.push(or(isNull(statuses.inReplyToUri), eq(statuses.inReplyToAccountId, account.id)));
  }
  if (viewerIsOwner && account.id !== owner.id && !q.excludeReblogs && !q.onlyMedia && !q.tagged) {
    // Boosts of posts hidden from the owner (gone, or by a hidden account) stay hidden, as on Mastodon.
    conds.push(boostShownSql(owner.id, row("statuses")));
  }
  if (q.excludeReblogs) conds.push(isNull(statuses.reblogOfId));
  if (q.onlyMedia) {
    conds.push(
      isNull(statuses.reblogOfId),
      or(
        sql`json_array_length(${statuses.attachments}) > 0`,
        exists(
          ctx.db
            .select({ one: sql`1` })
            .from(mediaAttachments)
            .where(eq(mediaAttachments.statusId, statuses.id)),
        ),
      ),
    );
  }
  if (q.tagged) {
    conds.push(
      exists(
        ctx.db
          .select({ one: sql`1` })
          .from(statusTags)
          .where(and(eq(statusTags.statusId, statuses.id), eq(statusTags.name, q.tagged))),
      ),
    );
  }
  if (q.pinned) {
    // Pinned posts come as one short list: a cursor (a client paging on) ends it.
    if (page.maxId || page.minId || page.sinceId) return [];
    const rows = await ctx.db
      .select({ status: statuses })
      .from(pins)
      .innerJoin(statuses, eq(statuses.id, pins.statusId))
      .where(and(eq(pins.accountId, account.id), ...conds))
      .orderBy(desc(pins.createdAt))
      .limit(page.limit)
      .offset(page.offset ?? 0);
    return rows.map((r) => r.status);
  }
  const rows = await ctx.db
    .select()
    .from(statuses)
    .where(and(...conds, pageWhere(statuses.id, page)))
    .orderBy(pageOrder(statuses.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** Accounts with the pagination id of the row that put them in a list (a follow, a mute …). */
export interface PagedAccount {
  pageId: string;
  account: Account;
}

async function pagedFollows(
  ctx: Ctx,
  where: SQL | undefined,
  join: "follower" | "target",
  page: Page,
): Promise<PagedAccount[]> {
  const rows = await ctx.db
    .select({ pageId: follows.id, account: accounts })
    .from(follows)
    .innerJoin(accounts, eq(accounts.id, join === "follower" ? follows.accountId : follows.targetAccountId))
    .where(and(where, pageWhere(follows.id, page)))
    .orderBy(pageOrder(follows.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** The account's followers as Perch knows them (accepted follows stored here). */
export function followersOf(ctx: Ctx, accountId: string, page: Page): Promise<PagedAccount[]> {
  return pagedFollows(
    ctx,
    and(eq(follows.targetAccountId, accountId), eq(follows.accepted, true)),
    "follower",
    page,
  );
}

/** The accounts it follows as Perch knows them. */
export function followingOf(ctx: Ctx, accountId: string, page: Page): Promise<PagedAccount[]> {
  return pagedFollows(ctx, and(eq(follows.accountId, accountId), eq(follows.accepted, true)), "target", page);
}

/** Pending follow requests to the owner. */
export async function followRequests(ctx: Ctx, page: Page): Promise<PagedAccount[]> {
  const { owner } = await ctx.instance();
  return pagedFollows(
    ctx,
    and(eq(follows.targetAccountId, owner.id), eq(follows.accepted, false)),
    "follower",
    page,
  );
}

/** Accounts the owner blocks, paged by account id (blocks have no id of their own). */
export async function blockedAccounts(ctx: Ctx, page: Page): Promise<PagedAccount[]> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ pageId: accounts.id, account: accounts })
    .from(blocks)
    .innerJoin(accounts, eq(accounts.id, blocks.targetAccountId))
    .where(and(eq(blocks.accountId, owner.id), pageWhere(accounts.id, page)))
    .orderBy(pageOrder(accounts.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** Accounts the owner mutes, expired mutes left out. */
export async function mutedAccounts(ctx: Ctx, page: Page): Promise<PagedAccount[]> {
  const rows = await ctx.db
    .select({ pageId: mutes.id, account: accounts })
    .from(mutes)
    .innerJoin(accounts, eq(accounts.id, mutes.targetAccountId))
    .where(and(muteActiveSql(mutes.expiresAt), pageWhere(mutes.id, page)))
    .orderBy(pageOrder(mutes.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** Accounts the owner endorses. */
export async function endorsedAccounts(ctx: Ctx, page: Page): Promise<PagedAccount[]> {
  const rows = await ctx.db
    .select({ pageId: endorsements.id, account: accounts })
    .from(endorsements)
    .innerJoin(accounts, eq(accounts.id, endorsements.targetAccountId))
    .where(pageWhere(endorsements.id, page))
    .orderBy(pageOrder(endorsements.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** Blocked domains with their ids, for paging. */
export async function blockedDomainPage(ctx: Ctx, page: Page): Promise<{ pageId: string; domain: string }[]> {
  const rows = await ctx.db
    .select({ pageId: domainBlocks.id, domain: domainBlocks.domain })
    .from(domainBlocks)
    .where(pageWhere(domainBlocks.id, page))
    .orderBy(pageOrder(domainBlocks.id, page))
    .limit(page.limit);
  return pageRows(rows, page);
}

/** Stored accounts by id, in the order asked, unknown ids left out. */
export async function accountsByIds(ctx: Ctx, ids: string[]): Promise<Account[]> {
  const found = new Map<string, Account>();
  for (let i = 0; i < ids.length; i += 90) {
    for (const a of await ctx.db
      .select()
      .from(accounts)
      .where(inArray(accounts.id, ids.slice(i, i + 90))))
      found.set(a.id, a);
  }
  return [...new Set(ids)].map((id) => found.get(id)).filter((a): a is Account => a !== undefined);
}

/** A stored account by `username@domain` (case-insensitive), or the owner for a local handle. */
export async function findAccountByHandle(ctx: Ctx, handle: string): Promise<Account | undefined> {
  const { owner } = await ctx.instance();
  const [username, domain, extra] = handle.trim().replace(/^@/, "").split("@");
  if (!username || extra !== undefined) return undefined;
  const local = [ctx.config.accountDomain.toLowerCase(), ctx.config.webDomain.toLowerCase()];
  if (!domain || local.includes(domain.toLowerCase()))
    return username.toLowerCase() === owner.username.toLowerCase() ? owner : undefined;
  const rows = await ctx.db
    .select()
    .from(accounts)
    .where(
      and(
        sql`lower(${accounts.username}) = ${username.toLowerCase()}`,
        sql`lower(${accounts.domain}) = ${domain.toLowerCase()}`,
      ),
    )
    .limit(1);
  return rows[0];
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Stored accounts matching `q` by username, display name or domain (`user@domain` matches both parts),
 * accounts the owner follows first; with `following`, only those.
 */
export async function searchAccounts(
  ctx: Ctx,
  q: string,
  opts: { following?: boolean; limit: number; offset: number },
): Promise<Account[]> {
  const { owner } = await ctx.instance();
  const term = q.trim().replace(/^@/, "");
  if (!term) return [];
  const [user, domain] = term.split("@");
  const esc = (s: string) => likeEscape(s.toLowerCase());
  const match =
    domain !== undefined
      ? and(
          like(sql`lower(${accounts.username})`, sql`${`${esc(user ?? "")}%`} ESCAPE '\\'`),
          like(sql`lower(${accounts.domain})`, sql`${`${esc(domain)}%`} ESCAPE '\\'`),
        )
      : or(
          like(sql`lower(${accounts.username})`, sql`${`${esc(term)}%`} ESCAPE '\\'`),
          like(sql`lower(${accounts.displayName})`, sql`${`%${esc(term)}%`} ESCAPE '\\'`),
          like(sql`lower(${accounts.domain})`, sql`${`${esc(term)}%`} ESCAPE '\\'`),
        );
  const mine = alias(follows, "mine");
  const followed = sql<number>`(${mine.accepted} IS NOT NULL AND ${mine.accepted} = 1)`;
  const rows = await ctx.db
    .select({ account: accounts })
    .from(accounts)
    .leftJoin(mine, and(eq(mine.accountId, owner.id), eq(mine.targetAccountId, accounts.id)))
    .where(
      and(
        match,
        // As the search API's account search: blocked accounts are not offered.
        sql`NOT ${blockedSql(owner.id, accounts.id)}`,
        opts.following ? eq(mine.accepted, true) : undefined,
      ),
    )
    .orderBy(desc(followed), asc(sql`lower(${accounts.username})`), asc(accounts.id))
    .limit(opts.limit)
    .offset(opts.offset);
  return rows.map((r) => r.account);
}

/**
 * For each account: the accounts the owner follows that follow it, as far as Perch knows the follows.
 */
export async function familiarFollowers(ctx: Ctx, ids: string[]): Promise<Map<string, Account[]>> {
  const { owner } = await ctx.instance();
  const out = new Map<string, Account[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const mine = alias(follows, "mine");
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await ctx.db
      .select({ target: follows.targetAccountId, account: accounts })
      .from(follows)
      .innerJoin(
        mine,
        and(
          eq(mine.accountId, owner.id),
          eq(mine.targetAccountId, follows.accountId),
          eq(mine.accepted, true),
        ),
      )
      .innerJoin(accounts, eq(accounts.id, follows.accountId))
      .where(and(inArray(follows.targetAccountId, ids.slice(i, i + 90)), eq(follows.accepted, true)))
      .orderBy(desc(follows.id));
    for (const r of rows) out.get(r.target)?.push(r.account);
  }
  return out;
}

/** The owner's lists that contain the account. */
export async function listsContaining(ctx: Ctx, accountId: string) {
  return ctx.db
    .select({ list: lists })
    .from(listAccounts)
    .innerJoin(lists, eq(lists.id, listAccounts.listId))
    .where(eq(listAccounts.accountId, accountId))
    .orderBy(asc(lists.title), asc(lists.id))
    .then((rows) => rows.map((r) => r.list));
}
