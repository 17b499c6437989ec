import { Hono, type Context } from "hono";
import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { accounts, markers, notifications, settings, statuses, type NotificationType } from "../db/schema";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { GROUPED_TYPES } from "../services/notifications";
import { presentAccounts, type SerializedAccount } from "./entities/account";
import { presentStatuses, type SerializedStatus } from "./entities/status";
import { p, parseWith, readInput } from "./input";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "./pagination";

/**
 * Notifications, v1 (one by one) and v2 (grouped).
 * https://docs.joinmastodon.org/methods/notifications/
 * https://docs.joinmastodon.org/methods/grouped_notifications/
 */
export const notificationsApi = new Hono<AppEnv>();

type Row = typeof notifications.$inferSelect;

const TYPES: readonly NotificationType[] = [
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
];
const ID = /^\d{1,20}$/;
const NOW = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

const TypeList = p.list(z.string().max(50), 20).optional();
const ListParams = z.object({
  types: TypeList,
  exclude_types: TypeList,
  account_id: p.id().optional(),
  include_filtered: p.bool().optional(),
  grouped_types: TypeList,
  expand_accounts: p.str(50).optional(),
});
type ListQuery = z.output<typeof ListParams>;

const known = (list: string[] | undefined) =>
  (list ?? []).filter((t): t is NotificationType => (TYPES as readonly string[]).includes(t));

/**
 * What every listing shows: not about a deleted status, not from an account hidden now (blocked,
 * muted with notifications, on a blocked domain), and of the requested types.
 */
async function visibleWhere(ctx: Ctx, q: ListQuery): Promise<SQL> {
  const { owner } = await ctx.instance();
  const conds: SQL[] = [
    sql`(${notifications.statusId} IS NULL OR EXISTS (SELECT 1 FROM statuses s WHERE s.id = ${notifications.statusId} AND s.deleted_at IS NULL))`,
    sql`${notifications.fromAccountId} NOT IN (SELECT target_account_id FROM blocks WHERE account_id = ${owner.id})`,
    sql`${notifications.fromAccountId} NOT IN (SELECT target_account_id FROM mutes WHERE notifications = 1 AND (expires_at IS NULL OR expires_at > ${NOW}))`,
    sql`${notifications.fromAccountId} NOT IN (SELECT a.id FROM domain_blocks d JOIN accounts a ON a.domain = d.domain)`,
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

interface Loaded {
  accounts: Map<string, SerializedAccount>;
  statuses: Map<string, SerializedStatus>;
  accountRows: Map<string, Account>;
}

/** Accounts and statuses of notifications, each loaded once for the page. */
async function load(ctx: Ctx, accountIds: string[], statusIds: string[]): Promise<Loaded> {
  const uniqAccounts = [...new Set(accountIds)];
  const uniqStatuses = [...new Set(statusIds)];
  const [accountRows, statusRows] = await Promise.all([
    uniqAccounts.length
      ? inChunks(uniqAccounts, (c) => ctx.db.select().from(accounts).where(inArray(accounts.id, c)))
      : Promise.resolve([] as Account[]),
    uniqStatuses.length
      ? inChunks(uniqStatuses, (c) => ctx.db.select().from(statuses).where(inArray(statuses.id, c)))
      : Promise.resolve([] as Status[]),
  ]);
  const [presentedAccounts, presentedStatuses] = await Promise.all([
    presentAccounts(ctx, accountRows),
    presentStatuses(ctx, statusRows, { filterContext: "notifications" }),
  ]);
  return {
    accounts: presentedAccounts,
    statuses: new Map(presentedStatuses.map((s) => [s.id, s])),
    accountRows: new Map(accountRows.map((a) => [a.id, a])),
  };
}

async function inChunks<T, R>(list: T[], run: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: Promise<R[]>[] = [];
  for (let i = 0; i < list.length; i += 90) out.push(run(list.slice(i, i + 90)));
  return (await Promise.all(out)).flat();
}

function isGrouped(row: Row, grouped: readonly string[]): boolean {
  return grouped.includes(row.type) && GROUPED_TYPES.includes(row.type);
}

/** The group key clients see: the stored key for grouped types, `ungrouped-<id>` otherwise. */
function groupKeyOf(row: Row, grouped: readonly string[] = GROUPED_TYPES): string {
  return isGrouped(row, grouped) ? row.groupKey : `ungrouped-${row.id}`;
}

function serializeNotification(row: Row, l: Loaded) {
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
  return out;
}

async function presentNotifications(ctx: Ctx, rows: Row[]) {
  const l = await load(
    ctx,
    rows.map((r) => r.fromAccountId),
    rows.map((r) => r.statusId).filter((id): id is string => !!id),
  );
  return rows.map((r) => serializeNotification(r, l)).filter((n) => n !== null);
}

async function findNotification(ctx: Ctx, id: string): Promise<Row> {
  if (!ID.test(id)) throw notFound();
  const row = (await ctx.db.select().from(notifications).where(eq(notifications.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

const read = requireToken("read:notifications", { user: true });
const write = requireToken("write:notifications", { user: true });

// --- v1 ---------------------------------------------------------------------------------------

notificationsApi.get("/api/v1/notifications", read, async (c) => {
  const ctx = c.var.ctx;
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const q = parseWith(ListParams, await readInput(c));
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(await visibleWhere(ctx, q), pageWhere(notifications.id, page)))
    .orderBy(pageOrder(notifications.id, page))
    .limit(page.limit);
  const ordered = pageRows(rows, page);
  setLink(
    c,
    ordered.map((r) => r.id),
  );
  return c.json(await presentNotifications(ctx, ordered));
});

/** Unread: newer than the notifications marker. */
async function unreadWhere(ctx: Ctx): Promise<SQL | undefined> {
  const marker = (
    await ctx.db.select().from(markers).where(eq(markers.timeline, "notifications")).limit(1)
  )[0];
  return marker ? pageWhere(notifications.id, { limit: 0, sinceId: marker.lastReadId }) : undefined;
}

notificationsApi.get("/api/v1/notifications/unread_count", read, async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(ListParams.extend({ limit: p.int(1, 1000).optional() }), await readInput(c));
  const limit = q.limit ?? 100;
  const rows = await ctx.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(await visibleWhere(ctx, q), await unreadWhere(ctx)))
    .orderBy(desc(notifications.id))
    .limit(limit);
  return c.json({ count: rows.length });
});

/** Filtered-notification requests: Perch does not filter notifications, so there are none. */
notificationsApi.get("/api/v1/notifications/requests", read, (c) => c.json([]));
notificationsApi.get("/api/v1/notifications/requests/merged", read, (c) => c.json({ merged: true }));

notificationsApi.post("/api/v1/notifications/clear", write, async (c) => {
  await c.var.ctx.db.delete(notifications);
  return c.json({});
});

notificationsApi.get("/api/v1/notifications/:id", read, async (c) => {
  const ctx = c.var.ctx;
  const row = await findNotification(ctx, c.req.param("id"));
  const [out] = await presentNotifications(ctx, [row]);
  if (!out) throw notFound();
  return c.json(out);
});

notificationsApi.post("/api/v1/notifications/:id/dismiss", write, async (c) => {
  const ctx = c.var.ctx;
  const row = await findNotification(ctx, c.req.param("id"));
  await ctx.db.delete(notifications).where(eq(notifications.id, row.id));
  return c.json({});
});

// Mastodon 3.x's form of dismiss.
notificationsApi.post("/api/v1/notifications/dismiss", write, async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(z.object({ id: p.id() }), await readInput(c));
  const row = await findNotification(ctx, q.id);
  await ctx.db.delete(notifications).where(eq(notifications.id, row.id));
  return c.json({});
});

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
  const l = await load(ctx, accountIds, statusIds);
  const out = [];
  for (const g of groups) {
    const newest = g.rows[0] as Row;
    if (newest.statusId && !l.statuses.has(newest.statusId)) continue;
    const samples = sampleIds(g).filter((id) => l.accounts.has(id));
    if (samples.length === 0) continue;
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

notificationsApi.get("/api/v2/notifications", read, async (c) => {
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

notificationsApi.get("/api/v2/notifications/unread_count", read, async (c) => {
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

notificationsApi.get("/api/v2/notifications/policy", read, (c) => c.json(policy()));
notificationsApi.patch("/api/v2/notifications/policy", write, async (c) => {
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
notificationsApi.get("/api/v1/notifications/policy", read, (c) =>
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

notificationsApi.get("/api/v2/notifications/:group_key", read, async (c) => {
  const { key, rows } = await groupRows(c);
  const result = await presentGroups(c.var.ctx, [{ key, rows, total: rows.length }], "full");
  if ((result.notification_groups as unknown[]).length === 0) throw notFound();
  return c.json(result);
});

notificationsApi.get("/api/v2/notifications/:group_key/accounts", read, async (c) => {
  const ctx = c.var.ctx;
  const { rows } = await groupRows(c);
  const ids = [...new Set(rows.map((r) => r.fromAccountId))];
  const l = await load(ctx, ids, []);
  return c.json(ids.map((id) => l.accounts.get(id)).filter((a) => !!a));
});

notificationsApi.post("/api/v2/notifications/:group_key/dismiss", write, async (c) => {
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
