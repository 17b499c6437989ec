import { proxiedMediaUrls } from "../../services/media-proxy-urls";
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Ctx } from "../../context";
import type { Account, Status } from "../../db/client";
import {
  accounts,
  favourites,
  markers,
  notifications,
  statuses,
  type NotificationType,
} from "../../db/schema";
import { inChunks } from "../../db/chunks";
import { notFound } from "../../lib/errors";
import { requireToken } from "../../oauth/middleware";
import { GROUPED_TYPES } from "../../services/notifications";
import { hiddenAccountSql } from "../../services/visibility";
import { presentAccounts, type SerializedAccount } from "../entities/account";
import { presentStatuses, type SerializedStatus } from "../entities/status";
import { p } from "../input";
import { pageWhere } from "../pagination";

/** What the v1 and grouped v2 notification routes share: queries, loading and serializing. */
export type Row = typeof notifications.$inferSelect;

export const TYPES: readonly NotificationType[] = [
  "mention",
  "status",
  "reblog",
  "follow",
  "follow_request",
  "favourite",
  "poll",
  "update",
  "move",
  "admin.sign_up",
  "admin.report",
  "severed_relationships",
  "moderation_warning",
  "pleroma:emoji_reaction",
];
export const ID = /^\d{1,20}$/;

export const TypeList = p.list(z.string().max(50), 20).optional();
export const ListParams = z.object({
  types: TypeList,
  exclude_types: TypeList,
  account_id: p.id().optional(),
  include_filtered: p.bool().optional(),
  grouped_types: TypeList,
  expand_accounts: p.str(50).optional(),
});
export type ListQuery = z.output<typeof ListParams>;

export const known = (list: string[] | undefined) =>
  (list ?? []).filter((t): t is NotificationType => (TYPES as readonly string[]).includes(t));

/**
 * What every listing shows: not about a deleted status, not from an account hidden now (blocked,
 * muted with notifications, on a blocked domain or a subdomain of one: services/visibility.ts), and
 * of the requested types.
 */
export async function visibleWhere(ctx: Ctx, q: ListQuery): Promise<SQL> {
  const { owner } = await ctx.instance();
  const conds: SQL[] = [
    sql`(${notifications.statusId} IS NULL OR EXISTS (SELECT 1 FROM statuses s WHERE s.id = ${notifications.statusId} AND s.deleted_at IS NULL))`,
    sql`NOT ${hiddenAccountSql(owner.id, notifications.fromAccountId, { notifications: true })}`,
    // A reaction shows while it stands: an undone one is gone even if its notification row is not.
    sql`(${notifications.type} <> 'pleroma:emoji_reaction' OR EXISTS (SELECT 1 FROM favourites f WHERE f.uri = ${notifications.activityUri} AND f.emoji IS NOT NULL))`,
  ];
  if (q.types !== undefined) {
    const types = known(q.types);
    if (types.length === 0) conds.push(sql`0`);
    else conds.push(inArray(notifications.type, types));
  } else {
    // "move" (Pleroma's type for a followed account that moved) is unknown to Mastodon clients, some
    // of which reject a list containing it: it is shown only to a client that asks for it.
    conds.push(sql`${notifications.type} <> 'move'`);
  }
  const excluded = known(q.exclude_types);
  if (excluded.length)
    conds.push(
      sql`${notifications.type} NOT IN (${sql.join(
        excluded.map((t) => sql`${t}`),
        sql`, `,
      )})`,
    );
  if (q.account_id) conds.push(eq(notifications.fromAccountId, q.account_id));
  return and(...conds) as SQL;
}

export interface Loaded {
  accounts: Map<string, SerializedAccount>;
  statuses: Map<string, SerializedStatus>;
  accountRows: Map<string, Account>;
  /** The emoji of each reaction notification (and a custom emoji's image), by its activity's id. */
  emojis: Map<string, { emoji: string; url: string | null }>;
}

/** The activity ids of reaction notifications, whose emoji is read from their favourites rows. */
export function reactionUris(rows: Row[]): string[] {
  return rows
    .filter((r) => r.type === "pleroma:emoji_reaction" && r.activityUri)
    .map((r) => r.activityUri as string);
}

/** Accounts, statuses and reaction emojis of notifications, each loaded once for the page. */
export async function load(
  ctx: Ctx,
  accountIds: string[],
  statusIds: string[],
  activityUris: string[] = [],
): Promise<Loaded> {
  const uniqAccounts = [...new Set(accountIds)];
  const uniqStatuses = [...new Set(statusIds)];
  const uniqUris = [...new Set(activityUris)];
  const [accountRows, statusRows, reactionRows] = await Promise.all([
    uniqAccounts.length
      ? inChunks(uniqAccounts, (c) => ctx.db.select().from(accounts).where(inArray(accounts.id, c)))
      : Promise.resolve([] as Account[]),
    uniqStatuses.length
      ? inChunks(uniqStatuses, (c) => ctx.db.select().from(statuses).where(inArray(statuses.id, c)))
      : Promise.resolve([] as Status[]),
    uniqUris.length
      ? inChunks(uniqUris, (c) =>
          ctx.db
            .select({ uri: favourites.uri, emoji: favourites.emoji, url: favourites.emojiUrl })
            .from(favourites)
            .where(inArray(favourites.uri, c)),
        )
      : Promise.resolve([]),
  ]);
  const [presentedAccounts, presentedStatuses] = await Promise.all([
    presentAccounts(ctx, accountRows),
    presentStatuses(ctx, statusRows, { filterContext: "notifications" }),
  ]);
  // Custom emoji images of reactions are remote: through the media proxy, as everywhere.
  const media = await proxiedMediaUrls(
    ctx,
    reactionRows.map((r) => r.url),
  );
  return {
    accounts: presentedAccounts,
    statuses: new Map(presentedStatuses.map((s) => [s.id, s])),
    accountRows: new Map(accountRows.map((a) => [a.id, a])),
    emojis: new Map(
      reactionRows.flatMap((r) =>
        r.emoji ? [[r.uri, { emoji: r.emoji, url: r.url ? media(r.url) : null }] as const] : [],
      ),
    ),
  };
}

export function isGrouped(row: Row, grouped: readonly string[]): boolean {
  return grouped.includes(row.type) && GROUPED_TYPES.includes(row.type);
}

/** The group key clients see: the stored key for grouped types, `ungrouped-<id>` otherwise. */
export function groupKeyOf(row: Row, grouped: readonly string[] = GROUPED_TYPES): string {
  return isGrouped(row, grouped) ? row.groupKey : `ungrouped-${row.id}`;
}

export function serializeNotification(row: Row, l: Loaded) {
  const account = l.accounts.get(row.fromAccountId);
  if (!account) return null;
  const out: Record<string, unknown> = {
    id: row.id,
    type: row.type,
    group_key: groupKeyOf(row),
    created_at: row.createdAt,
    account,
  };
  if (row.statusId) {
    // A status a filter hides (or that is gone) takes its notification with it.
    const status = l.statuses.get(row.statusId);
    if (!status) return null;
    out.status = status;
  }
  if (row.type === "pleroma:emoji_reaction") {
    // Pleroma's notification carries the reaction; one whose reaction was undone is not shown.
    const reaction = row.activityUri ? l.emojis.get(row.activityUri) : undefined;
    if (!reaction) return null;
    out.emoji = reaction.emoji;
    if (reaction.url) out.emoji_url = reaction.url;
  }
  return out;
}

export async function presentNotifications(ctx: Ctx, rows: Row[]) {
  const l = await load(
    ctx,
    rows.map((r) => r.fromAccountId),
    rows.map((r) => r.statusId).filter((id): id is string => !!id),
    reactionUris(rows),
  );
  return rows.map((r) => serializeNotification(r, l)).filter((n) => n !== null);
}

export async function findNotification(ctx: Ctx, id: string): Promise<Row> {
  if (!ID.test(id)) throw notFound();
  const row = (await ctx.db.select().from(notifications).where(eq(notifications.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

export const read = requireToken("read:notifications", { user: true });
export const write = requireToken("write:notifications", { user: true });

// --- v1 ---------------------------------------------------------------------------------------

export async function unreadWhere(ctx: Ctx): Promise<SQL | undefined> {
  const marker = (
    await ctx.db.select().from(markers).where(eq(markers.timeline, "notifications")).limit(1)
  )[0];
  return marker ? pageWhere(notifications.id, { limit: 0, sinceId: marker.lastReadId }) : undefined;
}
