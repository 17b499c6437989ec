import { sql, type SQL } from "drizzle-orm";
import { accounts, statuses } from "../db/schema";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";

/**
 * The counts kept on rows: accounts' followers_count, following_count, statuses_count and
 * last_status_at, statuses' replies_count, reblogs_count and favourites_count. Each function returns
 * statements for the batch of the write it counts (a D1 batch is one transaction), so a count never
 * drifts from the rows. What they count is migration 0008's backfill: accepted follows; statuses not
 * deleted (boosts included); favourites without an emoji reaction; boosts and replies not deleted.
 *
 * A removal's statements go before the write that removes the rows, and count the rows still there
 * that match; an insertion's go before the INSERT and count only when no row with its unique key is
 * there yet, so a duplicate delivery (ON CONFLICT DO NOTHING) counts nothing. No count goes below 0.
 */

/** A condition on one row of a table, given the name it goes by in the statement. */
export type RowCondition = (t: SQL) => SQL;

/** One counting statement, for the caller's batch. */
type Count = BatchItem<"sqlite">;
/** At least one statement, so that a batch starting with them type-checks as non-empty. */
type Counts = [Count, ...Count[]];

/**
 * Runs writes as one batch (a transaction) when there are any, for a batch whose counts may be none;
 * the results come back untyped, in order.
 */
export async function batchOf(ctx: Ctx, items: BatchItem<"sqlite">[]): Promise<unknown[]> {
  const [first, ...rest] = items;
  return first ? ctx.db.batch([first, ...rest]) : [];
}

const F = sql.raw("f");
const S = sql.raw("s");

/**
 * The time of an id as text (ids are milliseconds shifted left 16 bits, lib/ids.ts), formatted as the
 * backfill formats it.
 */
const idTimeSql = (id: SQL) =>
  sql`strftime('%Y-%m-%dT%H:%M:%fZ', (CAST(${id} AS INTEGER) >> 16) / 1000.0, 'unixepoch')`;

const op = (delta: 1 | -1) => sql.raw(delta > 0 ? "+" : "-");

type AccountCount = "followersCount" | "followingCount" | "statusesCount" | "lastStatusAt";
type StatusCount = "repliesCount" | "reblogsCount" | "favouritesCount";

/**
 * UPDATE accounts SET column = value WHERE where, as a builder: drizzle cannot batch raw SQL that
 * has parameters.
 */
const onAccounts = (ctx: Ctx, column: AccountCount, value: SQL, where: SQL) =>
  ctx.db
    .update(accounts)
    .set({ [column]: value })
    .where(where);

const onStatuses = (ctx: Ctx, column: StatusCount, value: SQL, where: SQL) =>
  ctx.db
    .update(statuses)
    .set({ [column]: value })
    .where(where);

// ——— Follows ———

/** Before the follows matching `where` are deleted: both sides count their accepted ones no more. */
export function followRemovalCounts(ctx: Ctx, where: RowCondition): Counts {
  return [
    sideCount(ctx, "following_count", "account_id", where, -1, sql`1`),
    sideCount(ctx, "followers_count", "target_account_id", where, -1, sql`1`),
  ];
}

/** Before an UPDATE accepts the follows matching `where`: both sides count those still pending. */
export function followAcceptCounts(ctx: Ctx, where: RowCondition): Counts {
  return [
    sideCount(ctx, "following_count", "account_id", where, 1, sql`0`),
    sideCount(ctx, "followers_count", "target_account_id", where, 1, sql`0`),
  ];
}

function sideCount(
  ctx: Ctx,
  column: "following_count" | "followers_count",
  side: "account_id" | "target_account_id",
  where: RowCondition,
  delta: 1 | -1,
  accepted: SQL,
) {
  const col = sql.raw(column);
  const key = sql.raw(side);
  const matching = sql`FROM follows f WHERE f.accepted = ${accepted} AND ${where(F)}`;
  return onAccounts(
    ctx,
    column === "following_count" ? "followingCount" : "followersCount",
    sql`max(0, ${col} ${op(delta)} (SELECT count(*) ${matching} AND f.${key} = accounts.id))`,
    sql`accounts.id IN (SELECT f.${key} ${matching})`,
  );
}

/**
 * Before inserting a follow that may already exist (the pair is unique): when it is accepted, both
 * sides count it, unless the pair is there already.
 */
export function followInsertCounts(
  ctx: Ctx,
  f: { accountId: string; targetAccountId: string; accepted: boolean },
) {
  if (!f.accepted) return [];
  const absent = sql`NOT EXISTS (SELECT 1 FROM follows WHERE account_id = ${f.accountId}
    AND target_account_id = ${f.targetAccountId})`;
  return [
    onAccounts(
      ctx,
      "followingCount",
      sql`following_count + 1`,
      sql`accounts.id = ${f.accountId} AND ${absent}`,
    ),
    onAccounts(
      ctx,
      "followersCount",
      sql`followers_count + 1`,
      sql`accounts.id = ${f.targetAccountId} AND ${absent}`,
    ),
  ];
}

// ——— Statuses ———

/** What a new status is, for the counts its insertion changes. */
export interface NewStatusRef {
  /**
   * The new row's id (or the expression that allocates it, db/status-ids.ts, whose time is the same
   * whatever it allocates), when known before the INSERT: the author's time is then set in the same
   * UPDATE as the count.
   */
  id?: string | SQL;
  uri: string;
  accountId: string;
  inReplyToUri?: string | null;
  reblogOfId?: string | null;
  /** Replies to it may be stored already (a remote post arriving after a reply to it). */
  mayHaveReplies?: boolean;
}

/**
 * Around inserting a status that may already exist (its URI is unique): `before` goes before the
 * INSERT (the author's statuses_count, the parent's replies_count, the original's reblogs_count, each
 * unless the URI is there already), `after` after it (the author's last_status_at, and the new
 * status's own replies_count from replies already stored). Both are idempotent as a pair.
 */
export function statusInsertCounts(ctx: Ctx, s: NewStatusRef) {
  const absent = sql`NOT EXISTS (SELECT 1 FROM statuses WHERE uri = ${s.uri})`;
  // With the id known, the author's row is written once (a row written saved per post).
  const author = s.id
    ? ctx.db
        .update(accounts)
        .set({
          statusesCount: sql`statuses_count + 1`,
          lastStatusAt: sql`max(coalesce(last_status_at, ''), ${idTimeSql(sql`${s.id}`)})`,
        })
        .where(sql`accounts.id = ${s.accountId} AND ${absent}`)
    : onAccounts(
        ctx,
        "statusesCount",
        sql`statuses_count + 1`,
        sql`accounts.id = ${s.accountId} AND ${absent}`,
      );
  const before: Counts = [author];
  if (s.inReplyToUri)
    before.push(
      onStatuses(
        ctx,
        "repliesCount",
        sql`replies_count + 1`,
        sql`statuses.uri = ${s.inReplyToUri} AND deleted_at IS NULL AND ${absent}`,
      ),
    );
  if (s.reblogOfId)
    before.push(
      onStatuses(
        ctx,
        "reblogsCount",
        sql`reblogs_count + 1`,
        sql`statuses.id = ${s.reblogOfId} AND deleted_at IS NULL AND ${absent}`,
      ),
    );
  const after: Count[] = [];
  if (!s.id)
    after.push(
      // max() of a NULL is NULL: a status that is not there (or a tombstone) leaves the time as it was.
      onAccounts(
        ctx,
        "lastStatusAt",
        sql`coalesce(max(coalesce(last_status_at, ''), (SELECT ${idTimeSql(sql`s.id`)} FROM statuses s
          WHERE s.uri = ${s.uri} AND s.deleted_at IS NULL)), last_status_at)`,
        sql`accounts.id = ${s.accountId}`,
      ),
    );
  if (s.mayHaveReplies)
    after.push(
      onStatuses(
        ctx,
        "repliesCount",
        sql`(SELECT count(*) FROM statuses r WHERE r.in_reply_to_uri = statuses.uri AND r.deleted_at IS NULL)`,
        sql`statuses.uri = ${s.uri} AND deleted_at IS NULL`,
      ),
    );
  return { before, after };
}

/**
 * A new status's replies_count as a value of its INSERT: the replies stored before it (a reply can
 * arrive before its parent), so that no UPDATE after the INSERT is needed.
 */
export function repliesBeforeSql(uri: string): SQL {
  return sql`(SELECT count(*) FROM statuses r WHERE r.in_reply_to_uri = ${uri} AND r.deleted_at IS NULL)`;
}

/** Which counts a removal may touch; leaving one out skips its statement (the caller knows better). */
export interface RemovalScope {
  replies?: boolean;
  boosts?: boolean;
}

/**
 * Before the statuses matching `where` are deleted or become tombstones: their authors'
 * statuses_count, their parents' replies_count and their originals' reblogs_count, for those not
 * deleted already. Follow the write with lastStatusAt for the authors.
 */
export function statusRemovalCounts(ctx: Ctx, where: RowCondition, scope: RemovalScope = {}): Counts {
  const live = sql`FROM statuses s WHERE s.deleted_at IS NULL AND ${where(S)}`;
  const out: Counts = [
    onAccounts(
      ctx,
      "statusesCount",
      sql`max(0, statuses_count -
        (SELECT count(*) ${live} AND s.account_id = accounts.id))`,
      sql`accounts.id IN (SELECT s.account_id ${live})`,
    ),
  ];
  if (scope.replies !== false)
    out.push(
      onStatuses(
        ctx,
        "repliesCount",
        sql`max(0, replies_count -
          (SELECT count(*) ${live} AND s.in_reply_to_uri = statuses.uri))`,
        sql`statuses.uri IN (SELECT s.in_reply_to_uri ${live} AND s.in_reply_to_uri IS NOT NULL)`,
      ),
    );
  if (scope.boosts !== false)
    out.push(
      onStatuses(
        ctx,
        "reblogsCount",
        sql`max(0, reblogs_count -
          (SELECT count(*) ${live} AND s.reblog_of_id = statuses.id))`,
        sql`statuses.id IN (SELECT s.reblog_of_id ${live} AND s.reblog_of_id IS NOT NULL)`,
      ),
    );
  return out;
}

/**
 * An account's last_status_at from its newest status not deleted, after a removal. Ids are text of
 * equal length, so the newest is the last in the (account_id, id) index: a row read or two.
 */
export function lastStatusAt(ctx: Ctx, accountId: string) {
  return onAccounts(
    ctx,
    "lastStatusAt",
    sql`(SELECT ${idTimeSql(sql`s.id`)} FROM statuses s
      WHERE s.account_id = accounts.id AND s.deleted_at IS NULL ORDER BY s.id DESC LIMIT 1)`,
    sql`accounts.id = ${accountId}`,
  );
}

// ——— Favourites ———

/**
 * Before inserting a favourite that may already exist (its activity URI is unique): the status counts
 * it unless that URI is there already. Not for emoji reactions, which are not favourites.
 */
export function favouriteInsertCount(ctx: Ctx, f: { statusId: string; uri: string }): Count {
  return onStatuses(
    ctx,
    "favouritesCount",
    sql`favourites_count + 1`,
    sql`statuses.id = ${f.statusId} AND NOT EXISTS (SELECT 1 FROM favourites WHERE uri = ${f.uri})`,
  );
}

/** Before the favourites matching `where` are deleted: their statuses count them no more. */
export function favouriteRemovalCount(ctx: Ctx, where: RowCondition): Count {
  const plain = sql`FROM favourites f WHERE f.emoji IS NULL AND ${where(F)}`;
  return onStatuses(
    ctx,
    "favouritesCount",
    sql`max(0, favourites_count -
      (SELECT count(*) ${plain} AND f.status_id = statuses.id))`,
    sql`statuses.id IN (SELECT f.status_id ${plain})`,
  );
}
