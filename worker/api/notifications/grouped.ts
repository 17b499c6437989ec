import { Hono, type Context } from "hono";
import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../../app";
import type { Ctx } from "../../context";
import { notifications, settings } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { GROUPED_TYPES } from "../../services/notifications";
import { p, parseWith, readInput } from "../input";
import { pageWhere, readPage, setLink } from "../pagination";
import {
  type Row,
  ListParams,
  type ListQuery,
  known,
  visibleWhere,
  load,
  reactionUris,
  groupKeyOf,
  findNotification,
  read,
  write,
  unreadWhere,
} from "./shared";

/** Grouped notifications (v2). https://docs.joinmastodon.org/methods/grouped_notifications/ */
export const notificationsGrouped = new Hono<AppEnv>();

// --- v2 (grouped) -----------------------------------------------------------------------------

/** The SQL expression of the key a notification is grouped by for this request. */
function groupExpr(grouped: readonly string[]): SQL {
  const types = GROUPED_TYPES.filter((t) => grouped.includes(t));
  if (types.length === 0) return sql`'ungrouped-' || ${notifications.id}`;
  return sql`CASE WHEN ${notifications.type} IN (${sql.join(
    types.map((t) => sql`${t}`),
    sql`, `,
  )}) THEN ${notifications.groupKey} ELSE 'ungrouped-' || ${notifications.id} END`;
}

function groupedTypes(q: ListQuery): readonly string[] {
  return q.grouped_types === undefined ? GROUPED_TYPES : known(q.grouped_types);
}

interface Group {
  key: string;
  rows: Row[];
  total: number;
}

/** Serializes groups as GroupedNotificationsResults. */
async function presentGroups(ctx: Ctx, groups: Group[], expand: "full" | "partial_avatars") {
  const sampleIds = (g: Group) => [...new Set(g.rows.map((r) => r.fromAccountId))].slice(0, 8);
  const accountIds = groups.flatMap(sampleIds);
  const statusIds = groups.map((g) => g.rows[0]?.statusId).filter((id): id is string => !!id);
  const heads = groups.map((g) => g.rows[0]).filter((r): r is Row => !!r);
  const l = await load(ctx, accountIds, statusIds, reactionUris(heads));
  const out = [];
  for (const g of groups) {
    const newest = g.rows[0] as Row;
    if (newest.statusId && !l.statuses.has(newest.statusId)) continue;
    const samples = sampleIds(g).filter((id) => l.accounts.has(id));
    if (samples.length === 0) continue;
    // A reaction is never grouped: its group is the one notification, with its emoji (as in v1).
    const reaction =
      newest.type === "pleroma:emoji_reaction" && newest.activityUri
        ? l.emojis.get(newest.activityUri)
        : undefined;
    if (newest.type === "pleroma:emoji_reaction" && !reaction) continue;
    out.push({
      group_key: g.key,
      notifications_count: g.total,
      type: newest.type,
      most_recent_notification_id: newest.id,
      page_min_id: (g.rows[g.rows.length - 1] as Row).id,
      page_max_id: newest.id,
      latest_page_notification_at: newest.createdAt,
      sample_account_ids: samples,
      ...(newest.statusId ? { status_id: newest.statusId } : {}),
      ...(reaction ? { emoji: reaction.emoji, ...(reaction.url ? { emoji_url: reaction.url } : {}) } : {}),
    });
  }
  const usedAccounts = [...new Set(out.flatMap((g) => g.sample_account_ids))];
  const usedStatuses = [...new Set(out.map((g) => g.status_id).filter((id): id is string => !!id))];
  const accountList = usedAccounts.map((id) => l.accounts.get(id)).filter((a) => !!a);
  const result: Record<string, unknown> = {
    accounts: accountList,
    statuses: usedStatuses.map((id) => l.statuses.get(id)).filter((s) => !!s),
    notification_groups: out,
  };
  if (expand === "partial_avatars") {
    // Only the newest account of each group in full; the other samples as partial accounts.
    const full = new Set(out.map((g) => g.sample_account_ids[0]));
    result.accounts = accountList.filter((a) => full.has(a.id));
    result.partial_accounts = accountList
      .filter((a) => !full.has(a.id))
      .map((a) => ({
        id: a.id,
        acct: a.acct,
        url: a.url,
        avatar: a.avatar,
        avatar_static: a.avatar_static,
        locked: a.locked,
        bot: a.bot,
      }));
  }
  return result;
}

/** Loads the notifications of the given groups (within the page's bounds) and their total counts. */
async function loadGroups(ctx: Ctx, keys: string[], where: SQL | undefined, grouped: readonly string[]) {
  if (keys.length === 0) return [];
  const stored = keys.filter((k) => !k.startsWith("ungrouped-"));
  const ids = keys.filter((k) => k.startsWith("ungrouped-")).map((k) => k.slice("ungrouped-".length));
  const byKey: SQL[] = [];
  if (stored.length) byKey.push(inArray(notifications.groupKey, stored));
  if (ids.length) byKey.push(inArray(notifications.id, ids));
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(sql`(${sql.join(byKey, sql` OR `)})`, where))
    .orderBy(desc(notifications.id))
    .limit(2000);
  const totals = stored.length
    ? await ctx.db
        .select({ key: notifications.groupKey, n: sql<number>`count(*)` })
        .from(notifications)
        .where(inArray(notifications.groupKey, stored))
        .groupBy(notifications.groupKey)
    : [];
  const total = new Map(totals.map((t) => [t.key, t.n]));
  const byGroup = new Map<string, Row[]>();
  for (const r of rows) {
    const k = groupKeyOf(r, grouped);
    if (!keys.includes(k)) continue;
    byGroup.set(k, [...(byGroup.get(k) ?? []), r]);
  }
  return keys
    .filter((k) => byGroup.has(k))
    .map((k) => {
      const list = byGroup.get(k) as Row[];
      return { key: k, rows: list, total: Math.max(total.get(k) ?? list.length, list.length) };
    });
}

notificationsGrouped.get("/api/v2/notifications", read, async (c) => {
  const ctx = c.var.ctx;
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const q = parseWith(ListParams, await readInput(c));
  const grouped = groupedTypes(q);
  const key = groupExpr(grouped);
  const visible = await visibleWhere(ctx, q);
  const bounds = pageWhere(notifications.id, page);
  const where = and(visible, bounds);
  const forward = !!page.minId && !page.maxId;
  const heads = await ctx.db
    .select({
      key: sql<string>`${key}`.as("gkey"),
      newest: sql<string>`max(${notifications.id})`.as("newest"),
    })
    .from(notifications)
    .where(where)
    .groupBy(sql`gkey`)
    .orderBy(forward ? sql`newest ASC` : sql`newest DESC`)
    .limit(page.limit);
  const ordered = forward ? [...heads].reverse() : heads;
  const groups = await loadGroups(
    ctx,
    ordered.map((h) => h.key),
    where,
    grouped,
  );
  const expand = q.expand_accounts === "partial_avatars" ? "partial_avatars" : "full";
  const result = await presentGroups(ctx, groups, expand);
  const first = groups[0]?.rows[0]?.id;
  const last = groups.length ? minId(groups) : undefined;
  if (first && last) setLink(c, [first, last]);
  return c.json(result);
});

function minId(groups: Group[]): string {
  let min = (groups[0]?.rows[0] as Row).id;
  for (const g of groups) for (const r of g.rows) if (r.id < min) min = r.id;
  return min;
}

notificationsGrouped.get("/api/v2/notifications/unread_count", read, async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(ListParams.extend({ limit: p.int(1, 1000).optional() }), await readInput(c));
  const key = groupExpr(groupedTypes(q));
  const rows = await ctx.db
    .select({ key: sql<string>`${key}`.as("gkey") })
    .from(notifications)
    .where(and(await visibleWhere(ctx, q), await unreadWhere(ctx)))
    .groupBy(sql`gkey`)
    .limit(q.limit ?? 100);
  return c.json({ count: rows.length });
});

const DEFAULT_POLICY = {
  for_not_following: "accept",
  for_not_followers: "accept",
  for_new_accounts: "accept",
  for_private_mentions: "accept",
  for_limited_accounts: "accept",
};

/**
 * The notification policy. Perch accepts every notification (blocks and mutes aside): the policy is
 * shown as such, and a change to anything but "accept" is refused rather than silently ignored.
 */
function policy() {
  return { ...DEFAULT_POLICY, summary: { pending_requests_count: 0, pending_notifications_count: 0 } };
}

notificationsGrouped.get("/api/v2/notifications/policy", read, (c) => c.json(policy()));
notificationsGrouped.patch("/api/v2/notifications/policy", write, async (c) => {
  const q = parseWith(
    z.object(
      Object.fromEntries(
        Object.keys(DEFAULT_POLICY).map((k) => [
          k,
          z
            .literal("accept", { message: "Perch accepts all notifications: only accept is supported" })
            .optional(),
        ]),
      ),
    ),
    await readInput(c),
  );
  void q;
  await c.var.ctx.db
    .insert(settings)
    .values({ key: "notifications.policy", value: DEFAULT_POLICY })
    .onConflictDoNothing();
  return c.json(policy());
});
notificationsGrouped.get("/api/v1/notifications/policy", read, (c) =>
  c.json({
    filter_not_following: false,
    filter_not_followers: false,
    filter_new_accounts: false,
    filter_private_mentions: false,
    summary: { pending_requests_count: 0, pending_notifications_count: 0 },
  }),
);

async function groupRows(c: Context<AppEnv>): Promise<{ key: string; rows: Row[] }> {
  const ctx = c.var.ctx;
  const key = decodeURIComponent(c.req.param("group_key") ?? "");
  if (!key || key.length > 200) throw notFound();
  if (key.startsWith("ungrouped-")) {
    const row = await findNotification(ctx, key.slice("ungrouped-".length));
    return { key, rows: [row] };
  }
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.groupKey, key), inArray(notifications.type, [...GROUPED_TYPES])))
    .orderBy(desc(notifications.id))
    .limit(2000);
  if (rows.length === 0) throw notFound();
  return { key, rows };
}

notificationsGrouped.get("/api/v2/notifications/:group_key", read, async (c) => {
  const { key, rows } = await groupRows(c);
  const result = await presentGroups(c.var.ctx, [{ key, rows, total: rows.length }], "full");
  if ((result.notification_groups as unknown[]).length === 0) throw notFound();
  return c.json(result);
});

notificationsGrouped.get("/api/v2/notifications/:group_key/accounts", read, async (c) => {
  const ctx = c.var.ctx;
  const { rows } = await groupRows(c);
  const ids = [...new Set(rows.map((r) => r.fromAccountId))];
  const l = await load(ctx, ids, []);
  return c.json(ids.map((id) => l.accounts.get(id)).filter((a) => !!a));
});

notificationsGrouped.post("/api/v2/notifications/:group_key/dismiss", write, async (c) => {
  const ctx = c.var.ctx;
  const { key, rows } = await groupRows(c);
  await ctx.db
    .delete(notifications)
    .where(
      key.startsWith("ungrouped-")
        ? eq(notifications.id, (rows[0] as Row).id)
        : and(eq(notifications.groupKey, key), inArray(notifications.type, [...GROUPED_TYPES])),
    );
  return c.json({});
});
