import { sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import { notifications, settings, type NotificationType } from "../db/schema";
import { newId } from "../lib/ids";
import { hiddenAccountSql, OWNER_ID } from "./visibility";

/**
 * Writing the owner's notifications. Every write is one INSERT … SELECT that checks, inside the
 * statement, that the sender is not hidden from the owner's notifications (blocked, muted with
 * notifications, on a blocked domain or a subdomain of one: ./visibility.ts), and — when a
 * `groupKey` identifies the notification uniquely — that it does not exist yet, so a redelivered
 * activity adds nothing. A write can be run at once or handed to the inbox's deferred batch.
 *
 * Group keys (the v2 grouped API): `favourite-<statusId>`, `reblog-<statusId>` and
 * `follow-<12-hour slot>` group; the other types get a key naming what they are about (`mention-<id>`,
 * `update-<id>-<edited at>`, `emoji_reaction-<id>`, …), shown to clients as
 * `ungrouped-<notification id>`.
 */

export const GROUPED_TYPES: readonly NotificationType[] = ["favourite", "follow", "reblog"];

const NOW = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

export interface NotificationInput {
  type: NotificationType;
  fromAccountId: string;
  /** The status it is about: a known row id, or the URI of a row written earlier in the same batch. */
  status?: { id: string } | { uri: string };
  /** Group key prefix: the status id is appended when `status` is given. */
  key: string;
  /** Skip when a notification with the same key exists (the key names one event). */
  unique?: boolean;
  activityUri?: string | null;
  /** An extra condition the write depends on (evaluated in the same statement). */
  when?: SQL;
}

/** The INSERT for a notification, not yet run. */
export function notificationWrite(ctx: Ctx, n: NotificationInput) {
  const statusId = !n.status
    ? sql`NULL`
    : "id" in n.status
      ? sql`${n.status.id}`
      : sql`(SELECT id FROM statuses WHERE uri = ${n.status.uri})`;
  const key = n.status ? sql`${n.key} || sid` : sql`${n.key}`;
  const conds: SQL[] = [
    sql`NOT ${hiddenAccountSql(OWNER_ID, sql`${n.fromAccountId}`, { notifications: true })}`,
  ];
  if (n.status) conds.push(sql`sid IS NOT NULL`);
  if (n.unique) conds.push(sql`NOT EXISTS (SELECT 1 FROM notifications WHERE group_key = ${key})`);
  if (n.when) conds.push(n.when);
  // All of the table's columns, in order (drizzle's INSERT … SELECT names them all).
  return ctx.db.insert(notifications).select(
    sql`SELECT ${newId()}, ${n.type}, ${n.fromAccountId}, sid, ${key}, ${n.activityUri ?? null}, ${NOW}
    FROM (SELECT ${statusId} AS sid) WHERE ${sql.join(conds, sql` AND `)}`,
  );
}

export async function notify(ctx: Ctx, n: NotificationInput): Promise<void> {
  await notificationWrite(ctx, n);
}

/** The 12-hour slot follows are grouped by, as Mastodon groups within a bounded span. */
export function followSlot(at = Date.now()): string {
  return String(Math.floor(at / (12 * 3600 * 1000)));
}

/**
 * Removes the notifications of an undone Like or emoji reaction (before the favourites row itself is
 * removed): the favourite notifications of that status from that account, and the reaction
 * notification the activity made. (A reaction notification whose row is gone is not shown anyway;
 * see api/notifications/shared.ts.)
 */
export function unnotifyLike(ctx: Ctx, likeUri: string, actorId: string) {
  return ctx.db.delete(notifications).where(sql`from_account_id = ${actorId} AND (
    (type = 'favourite' AND group_key = 'favourite-' || (SELECT status_id FROM favourites WHERE uri = ${likeUri} AND account_id = ${actorId} AND emoji IS NULL))
    OR (type = 'pleroma:emoji_reaction' AND activity_uri = ${likeUri}))`);
}

/** Removes the notification of an undone Announce (before the boost row is removed). */
export function unnotifyAnnounce(ctx: Ctx, announceUri: string, actorId: string) {
  return ctx.db.delete(notifications).where(sql`from_account_id = ${actorId} AND type = 'reblog'
    AND group_key = 'reblog-' || (SELECT reblog_of_id FROM statuses WHERE uri = ${announceUri} AND account_id = ${actorId})`);
}

/** Removes follow and follow-request notifications from an account that no longer follows. */
export function unnotifyFollow(ctx: Ctx, actorId: string) {
  return ctx.db.delete(notifications).where(sql`group_key >= 'follow' AND group_key < 'followa'
    AND from_account_id = ${actorId} AND type IN ('follow', 'follow_request')`);
}

const POLLS_WATERMARK = "notifications.polls_ended_until";

/**
 * Poll notifications for polls that ended since the last run: the owner's own polls and remote polls
 * the owner voted in. A watermark in `settings` makes each poll notify once even after the owner
 * dismissed the notification. Called by the cron upkeep; returns how many were written.
 */
export async function notifyEndedPolls(ctx: Ctx, now = new Date()): Promise<number> {
  const { owner } = await ctx.instance();
  const until = now.toISOString();
  const mark = await ctx.db.get<{ value: string } | undefined>(
    sql`SELECT json_extract(value, '$') AS value FROM settings WHERE key = ${POLLS_WATERMARK}`,
  );
  const since = mark?.value ?? new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
  const ended = await ctx.db.all<{ id: string; accountId: string }>(sql`SELECT id, account_id AS accountId
    FROM statuses
    WHERE (account_id = ${owner.id} OR id IN (SELECT status_id FROM poll_votes WHERE account_id = ${owner.id}))
      AND poll IS NOT NULL AND deleted_at IS NULL AND json_extract(poll, '$.imported') IS NULL
      AND COALESCE(json_extract(poll, '$.closed'), json_extract(poll, '$.endTime')) > ${since}
      AND COALESCE(json_extract(poll, '$.closed'), json_extract(poll, '$.endTime')) <= ${until}
      AND reblog_of_id IS NULL`);
  const writes = ended.map((s) =>
    notificationWrite(ctx, {
      type: "poll",
      fromAccountId: s.accountId,
      status: { id: s.id },
      key: "poll-",
      unique: true,
    }),
  );
  const setMark = ctx.db
    .insert(settings)
    .values({ key: POLLS_WATERMARK, value: until })
    .onConflictDoUpdate({ target: settings.key, set: { value: until } });
  await ctx.db.batch([setMark, ...writes]);
  return ended.length;
}
