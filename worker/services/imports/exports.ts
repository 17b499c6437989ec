/**
 * The owner's data in the files Mastodon's Export page writes (app/models/export.rb), byte for byte:
 * the same headers where Mastodon writes them, `true`/`false`, LF line ends, newest first where
 * Mastodon orders so. Plus the owner's followers, one address a line as Mastodon once wrote them.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import {
  accounts,
  blocks,
  bookmarks,
  domainBlocks,
  follows,
  listAccounts,
  lists,
  mutes,
  statuses,
} from "../../db/schema";
import { csvRow } from "../../lib/csv";
import { HEADERS } from "./formats";

export const EXPORTS = {
  following_accounts: following,
  follower_accounts: followers,
  blocked_accounts: blocked,
  muted_accounts: muted,
  blocked_domains: blockedDomains,
  bookmarks: bookmarked,
  lists: listMembers,
} as const;

export type ExportName = keyof typeof EXPORTS;

export const isExportName = (name: string): name is ExportName => Object.hasOwn(EXPORTS, name);

/** The file `name` as Mastodon names and writes it (`<name>.csv`). */
export async function exportCsv(ctx: Ctx, name: ExportName): Promise<string> {
  return EXPORTS[name](ctx);
}

/** An address as Mastodon exports it: `user@domain`, the owner's with the handle's domain. */
function acct(ctx: Ctx, a: Pick<Account, "local" | "username" | "domain">): string {
  return `${a.username}@${a.local ? ctx.config.accountDomain : a.domain}`;
}

/** The owner's follows, pending requests too (a move should carry them), newest first. */
async function following(ctx: Ctx): Promise<string> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ account: accounts, follow: follows })
    .from(follows)
    .innerJoin(accounts, eq(accounts.id, follows.targetAccountId))
    .where(eq(follows.accountId, owner.id))
    .orderBy(desc(follows.id));
  return (
    csvRow([...HEADERS.following]) +
    rows
      .map(({ account, follow }) =>
        csvRow([acct(ctx, account), follow.showReblogs, follow.notify, follow.languages?.join(", ")]),
      )
      .join("")
  );
}

async function followers(ctx: Ctx): Promise<string> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ account: accounts })
    .from(follows)
    .innerJoin(accounts, eq(accounts.id, follows.accountId))
    .where(and(eq(follows.targetAccountId, owner.id), eq(follows.accepted, true)))
    .orderBy(desc(follows.id));
  return rows.map(({ account }) => csvRow([acct(ctx, account)])).join("");
}

async function blocked(ctx: Ctx): Promise<string> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ account: accounts })
    .from(blocks)
    .innerJoin(accounts, eq(accounts.id, blocks.targetAccountId))
    .where(eq(blocks.accountId, owner.id))
    .orderBy(desc(blocks.createdAt));
  return rows.map(({ account }) => csvRow([acct(ctx, account)])).join("");
}

async function muted(ctx: Ctx): Promise<string> {
  const rows = await ctx.db
    .select({ account: accounts, notifications: mutes.notifications })
    .from(mutes)
    .innerJoin(accounts, eq(accounts.id, mutes.targetAccountId))
    .orderBy(desc(mutes.id));
  return (
    csvRow([...HEADERS.muting]) +
    rows.map(({ account, notifications }) => csvRow([acct(ctx, account), notifications])).join("")
  );
}

async function blockedDomains(ctx: Ctx): Promise<string> {
  const rows = await ctx.db
    .select({ domain: domainBlocks.domain })
    .from(domainBlocks)
    .orderBy(domainBlocks.id);
  return rows.map((r) => csvRow([r.domain])).join("");
}

async function bookmarked(ctx: Ctx): Promise<string> {
  const rows = await ctx.db
    .select({ uri: statuses.uri })
    .from(bookmarks)
    .innerJoin(statuses, eq(statuses.id, bookmarks.statusId))
    .where(isNull(statuses.deletedAt))
    .orderBy(desc(bookmarks.id));
  return rows.map((r) => csvRow([r.uri])).join("");
}

async function listMembers(ctx: Ctx): Promise<string> {
  const rows = await ctx.db
    .select({ title: lists.title, account: accounts })
    .from(lists)
    .innerJoin(listAccounts, eq(listAccounts.listId, lists.id))
    .innerJoin(accounts, eq(accounts.id, listAccounts.accountId))
    .orderBy(lists.id, accounts.id);
  return rows.map(({ title, account }) => csvRow([title, acct(ctx, account)])).join("");
}
