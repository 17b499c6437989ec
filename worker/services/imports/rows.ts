/**
 * What one import row does, by kind, through the same services the API uses (following.ts,
 * relationships.ts, lists.ts, bookmarks.ts), as Mastodon's BulkImportRowService; and what overwrite
 * mode removes first, as its BulkImportService: whatever the file does not hold.
 */
import { and, eq, sql } from "drizzle-orm";
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
import { HttpError } from "../../lib/errors";
import { RemoteFetchError } from "../../lib/remote-fetch";
import { findAccountByHandle } from "../account-queries";
import { InvalidActorError, resolveHandleOrUrl } from "../accounts";
import { bookmark, unbookmark } from "../bookmarks";
import { findFollow, FollowError, followAccount, unfollow } from "../following";
import { addListAccounts, createList, deleteList, removeListAccounts } from "../lists";
import { block, blockDomain, mute, unblock, unblockDomain, unmute } from "../relationships";
import { InvalidObjectError, resolveStatus } from "../remote-statuses";
import type { ImportJob } from "./jobs";

/** A row that cannot be imported; its message is the reason the owner reads. */
export class RowFailure extends Error {
  override name = "RowFailure";
}

/** Applies one row of a job. Throws RowFailure (or an error it maps to one) when it cannot. */
export async function applyRow(ctx: Ctx, job: ImportJob, data: Record<string, unknown>): Promise<void> {
  const str = (k: string) => (typeof data[k] === "string" ? (data[k] as string) : "");
  switch (job.kind) {
    case "following": {
      const target = await accountFor(ctx, str("acct"));
      await followAccount(ctx, target, {
        ...(typeof data.showReblogs === "boolean" ? { reblogs: data.showReblogs } : {}),
        ...(typeof data.notify === "boolean" ? { notify: data.notify } : {}),
        ...(data.languages !== undefined ? { languages: data.languages as string[] | null } : {}),
      });
      return;
    }
    case "blocking":
      return block(ctx, await accountFor(ctx, str("acct")));
    case "muting":
      return mute(ctx, await accountFor(ctx, str("acct")), {
        notifications: typeof data.hideNotifications === "boolean" ? data.hideNotifications : true,
      });
    case "domain_blocking":
      await blockDomain(ctx, str("domain"));
      return;
    case "bookmarks": {
      const status = await resolveStatus(ctx, str("uri"));
      if (status.deletedAt) throw new RowFailure("The post was deleted");
      return bookmark(ctx, status);
    }
    case "lists": {
      const target = await accountFor(ctx, str("acct"));
      const list = await listNamed(ctx, str("listName"));
      // As Mastodon: a list holds followed accounts, so the import follows whom it lists.
      const { owner } = await ctx.instance();
      if (!(await findFollow(ctx, owner.id, target.id))) await followAccount(ctx, target);
      await addListAccounts(ctx, list, [target.id]);
      return;
    }
  }
}

/** A known account by its address, else resolved through WebFinger and fetched. */
async function accountFor(ctx: Ctx, acct: string): Promise<Account> {
  return (await findAccountByHandle(ctx, acct)) ?? (await resolveHandleOrUrl(ctx, acct));
}

async function listNamed(ctx: Ctx, title: string): Promise<string> {
  const found = await ctx.db.select({ id: lists.id }).from(lists).where(eq(lists.title, title)).limit(1);
  return found[0]?.id ?? (await createList(ctx, { title })).id;
}

/** The reason a row failed, in the owner's words; null for an error that is not about the row. */
export function failureReason(e: unknown): string | null {
  if (e instanceof RowFailure || e instanceof FollowError || e instanceof HttpError) return e.message;
  if (e instanceof RemoteFetchError) {
    if (e.reason === "not_found" || e.reason === "gone") return `Not found (${e.url})`;
    return `Could not be fetched: ${e.message}`;
  }
  if (e instanceof InvalidActorError || e instanceof InvalidObjectError) return `Not valid: ${e.message}`;
  return null;
}

const acctSql = sql`lower(${accounts.username} || '@' || ${accounts.domain})`;
const notInFile = (job: ImportJob, key: ReturnType<typeof sql>) =>
  sql`NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.job_id = ${job.id} AND r.key = ${key})`;

/**
 * One step of overwrite mode: removes up to `limit` things the file does not hold (unfollows,
 * unblocks …, each through its service, which tells the remote server where Mastodon does). Returns
 * how many it removed; fewer than `limit` means nothing is left to remove.
 */
export async function overwriteStep(ctx: Ctx, job: ImportJob, limit: number): Promise<number> {
  const { owner } = await ctx.instance();
  switch (job.kind) {
    case "following":
    case "blocking": {
      const table = job.kind === "following" ? follows : blocks;
      const stale = await ctx.db
        .select({ account: accounts })
        .from(table)
        .innerJoin(accounts, eq(accounts.id, table.targetAccountId))
        .where(and(eq(table.accountId, owner.id), notInFile(job, acctSql)))
        .limit(limit);
      for (const { account } of stale)
        await (job.kind === "following" ? unfollow(ctx, account) : unblock(ctx, account));
      return stale.length;
    }
    case "muting": {
      const stale = await ctx.db
        .select({ account: accounts })
        .from(mutes)
        .innerJoin(accounts, eq(accounts.id, mutes.targetAccountId))
        .where(notInFile(job, acctSql))
        .limit(limit);
      for (const { account } of stale) await unmute(ctx, account);
      return stale.length;
    }
    case "domain_blocking": {
      const stale = await ctx.db
        .select({ domain: domainBlocks.domain })
        .from(domainBlocks)
        .where(notInFile(job, sql`${domainBlocks.domain}`))
        .limit(limit);
      for (const { domain } of stale) await unblockDomain(ctx, domain);
      return stale.length;
    }
    case "bookmarks": {
      const stale = await ctx.db
        .select({ statusId: bookmarks.statusId })
        .from(bookmarks)
        .leftJoin(statuses, eq(statuses.id, bookmarks.statusId))
        .where(notInFile(job, sql`${statuses.uri}`))
        .limit(limit);
      for (const { statusId } of stale) await unbookmark(ctx, statusId);
      return stale.length;
    }
    case "lists":
      return overwriteLists(ctx, job, limit);
  }
}

/** Lists the file does not name go; from the others, members the file does not list under them. */
async function overwriteLists(ctx: Ctx, job: ImportJob, limit: number): Promise<number> {
  const unnamed = await ctx.db
    .select({ id: lists.id })
    .from(lists)
    .where(
      sql`NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.job_id = ${job.id} AND r.key IS NOT NULL
        AND json_extract(r.data, '$.listName') = ${lists.title})`,
    )
    .limit(limit);
  for (const { id } of unnamed) await deleteList(ctx, id);
  if (unnamed.length >= limit) return unnamed.length;
  const members = await ctx.db
    .select({ listId: listAccounts.listId, accountId: listAccounts.accountId })
    .from(listAccounts)
    .innerJoin(lists, eq(lists.id, listAccounts.listId))
    .innerJoin(accounts, eq(accounts.id, listAccounts.accountId))
    .where(notInFile(job, sql`${lists.title} || char(10) || ${acctSql}`))
    .limit(limit - unnamed.length);
  for (const m of members) await removeListAccounts(ctx, m.listId, [m.accountId]);
  return unnamed.length + members.length;
}
