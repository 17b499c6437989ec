import { and, desc, eq, gt, gte, isNotNull, or, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { d1Of } from "../db/client";
import { deadLetters, hosts, relayStats, settings } from "../db/schema";
import { BUCKETS, flushRelayCounts, type BucketCounts } from "./relay-accounting";
import { listRelays } from "./relays";
import {
  dayUse,
  emptyTotals,
  METRICS,
  monthlyEstimate,
  warnings,
  type DayUse,
  type MonthlyEstimate,
  type Totals,
  type Warning,
} from "./plan";
import { cacheBudget } from "./media-cache";
import { flushUsage, hourOf, queueHoursSince, usageSince, type QueueHour, type UsageHour } from "./usage";

/**
 * Everything the owner's dashboard shows, read in one go (web/dashboard.ts renders it as HTML and
 * JSON from this same object, so the page and the JSON never disagree). What this isolate gathered
 * and has not written yet is written first, so the figures include the request that asks for them
 * up to that point.
 */
export interface Dashboard {
  now: string;
  today: { use: DayUse[]; maxSubrequests: number; maxD1Queries: number; queueBatches: number };
  /** The last 24 hours and the last 7 days, hour by hour (zeros where nothing ran). */
  hours24: UsagePoint[];
  days7: UsagePoint[];
  month: MonthlyEstimate;
  warnings: Warning[];
  queues: QueueSummary[];
  deadLetters: { total: number; items: DeadLetterItem[] };
  relays: RelaySummary[];
  hosts: HostState[];
  storage: {
    d1Bytes: number;
    uploadBytes: number;
    uploadFiles: number;
    cacheBytes: number;
    cacheBudget: number;
  };
}

export type UsagePoint = { at: string } & Totals;

export interface QueueSummary {
  queue: string;
  /** Sent and not yet processed or failed over the last 24 h (messages live 24 h on the Free plan). */
  backlog: number;
  /** How old the oldest message a consumer took in the latest hour was, in seconds. */
  lagSeconds: number;
  hours24: ({ at: string } & QueueFigures)[];
  days7: ({ at: string } & QueueFigures)[];
  total24: QueueFigures;
}
export type QueueFigures = { sent: number; processed: number; retried: number; failed: number };

export interface DeadLetterItem {
  id: string;
  kind: "delivery" | "inbox";
  target: string;
  error: string;
  attempts: number;
  createdAt: string;
}

export interface RelaySummary {
  id: string;
  name: string;
  state: string;
  enabled: boolean;
  dailyCap: number;
  today: BucketCounts;
  hours24: ({ at: string } & BucketCounts)[];
}

export interface HostState {
  host: string;
  consecutiveFailures: number;
  failingSince: string | null;
  openUntil: string | null;
  open: boolean;
}

const HOUR = 3_600_000;

/** The last `n` UTC dates, today last ("YYYY-MM-DD"). */
function lastDates(now: Date, n: number): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: n }, (_, i) =>
    new Date(today - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

function hoursBack(now: Date, n: number): string[] {
  const top = Math.floor(now.getTime() / HOUR) * HOUR;
  return Array.from({ length: n }, (_, i) => hourOf(new Date(top - (n - 1 - i) * HOUR)));
}

function totalsOf(row: UsageHour | undefined): Totals {
  const t = emptyTotals();
  if (!row) return t;
  for (const m of METRICS) t[m] = row[m];
  return t;
}

function addTotals(into: Totals, more: Totals) {
  for (const m of METRICS) into[m] += more[m];
}

function emptyBuckets(): BucketCounts {
  return Object.fromEntries(BUCKETS.map((b) => [b, 0])) as BucketCounts;
}

export async function loadDashboard(ctx: Ctx, now = new Date()): Promise<Dashboard> {
  await Promise.all([flushUsage(ctx), flushRelayCounts(ctx)]);
  const hours168 = hoursBack(now, 168);
  const dates = lastDates(now, 7);
  // From the start of the first of the seven days: the older of it and 168 hours back.
  const since7 = [`${dates[0]}T00`, hours168[0] as string].sort()[0] as string;
  const day = now.toISOString().slice(0, 10);
  const nowIso = now.toISOString();
  const [usageRows, queueRows, relayRows, dead, deadTotal, failing, uploads, cacheTotal, relays, size] =
    await Promise.all([
      usageSince(ctx, since7),
      queueHoursSince(ctx, since7),
      ctx.db
        .select()
        .from(relayStats)
        .where(gte(relayStats.hour, hours168[144] as string)),
      ctx.db.select().from(deadLetters).orderBy(desc(deadLetters.id)).limit(100),
      ctx.db.select({ n: sql<number>`count(*)` }).from(deadLetters),
      ctx.db
        .select()
        .from(hosts)
        .where(
          or(gt(hosts.consecutiveFailures, 0), and(isNotNull(hosts.openUntil), gt(hosts.openUntil, nowIso))),
        )
        .orderBy(desc(hosts.consecutiveFailures))
        .limit(50),
      ctx.db.get<{ bytes: number | null; files: number }>(
        sql`SELECT sum(size) AS bytes, count(*) AS files FROM media_attachments`,
      ),
      ctx.db
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, "media_cache_bytes"))
        .limit(1),
      listRelays(ctx),
      databaseSize(ctx),
    ]);
  const byHour = new Map(usageRows.map((r) => [r.hour, r]));
  const hours24 = hours168.slice(-24).map((h) => ({ at: h, ...totalsOf(byHour.get(h)) }));
  const days7: UsagePoint[] = dates.map((date) => {
    const t = emptyTotals();
    for (const r of usageRows) if (r.hour.startsWith(date)) addTotals(t, totalsOf(r));
    return { at: date, ...t };
  });

  const todayRows = usageRows.filter((r) => r.hour.startsWith(day));
  const today = emptyTotals();
  for (const r of todayRows) addTotals(today, totalsOf(r));
  const thisHour = totalsOf(byHour.get(hours168[167] as string));
  const lastHour = totalsOf(byHour.get(hours168[166] as string));
  const use = dayUse(today, thisHour, lastHour, now);
  const maxSubrequests = Math.max(0, ...todayRows.map((r) => r.maxSubrequests));
  const maxD1Queries = Math.max(0, ...todayRows.map((r) => r.maxD1Queries));

  // The estimate for a month: the metered days of the last week (the first metered hour on).
  const week = usageRows.filter((r) => r.hour >= (hours168[0] as string));
  const period = emptyTotals();
  for (const r of week) addTotals(period, totalsOf(r));
  const firstHour = week[0]?.hour;
  const meteredDays = firstHour ? (now.getTime() - Date.parse(`${firstHour}:00:00Z`)) / 86_400_000 : 1;
  const storage = {
    d1Bytes: size,
    uploadBytes: Number(uploads?.bytes ?? 0),
    uploadFiles: Number(uploads?.files ?? 0),
    cacheBytes: Number(cacheTotal[0]?.value ?? 0) || 0,
    cacheBudget: await cacheBudget(ctx),
  };
  const month = monthlyEstimate(period, Math.min(7, Math.max(1 / 24, meteredDays)), {
    d1Bytes: storage.d1Bytes,
    r2Bytes: storage.uploadBytes + storage.cacheBytes,
  });

  const relaySummaries: RelaySummary[] = relays.map((r) => {
    const rows = relayRows.filter((s) => s.relayId === r.id);
    const byH = new Map(rows.map((s) => [s.hour, s]));
    const todayCounts = emptyBuckets();
    for (const s of rows) if (s.hour.startsWith(day)) for (const b of BUCKETS) todayCounts[b] += s[b];
    return {
      id: r.id,
      name: new URL(r.url).host + new URL(r.url).pathname.replace(/\/(inbox|actor)$/, ""),
      state: r.state,
      enabled: r.enabled,
      dailyCap: r.dailyCap,
      today: todayCounts,
      hours24: hours168.slice(-24).map((h) => {
        const s = byH.get(h);
        const c = emptyBuckets();
        if (s) for (const b of BUCKETS) c[b] = s[b];
        return { at: h, ...c };
      }),
    };
  });

  const queues = ["inbox", "delivery", "import"].map((q) => queueSummary(q, queueRows, hours168, dates));
  return {
    now: nowIso,
    today: {
      use,
      maxSubrequests,
      maxD1Queries,
      queueBatches: todayRows.reduce((n, r) => n + r.queueBatches, 0),
    },
    hours24,
    days7,
    month,
    warnings: warnings(use, {
      maxSubrequests,
      maxD1Queries,
      d1Bytes: storage.d1Bytes,
      cappedRelays: relaySummaries
        .filter((r) => r.today.capped > 0)
        .map((r) => ({ name: r.name, capped: r.today.capped })),
    }),
    queues,
    deadLetters: {
      total: Number(deadTotal[0]?.n ?? 0),
      items: dead.map((d) => ({
        id: d.id,
        kind: d.kind,
        target: d.target,
        error: d.error,
        attempts: d.attempts,
        createdAt: d.createdAt,
      })),
    },
    relays: relaySummaries,
    hosts: failing.map((h) => ({
      host: h.host,
      consecutiveFailures: h.consecutiveFailures,
      failingSince: h.failingSince,
      openUntil: h.openUntil,
      open: !!h.openUntil && h.openUntil > nowIso,
    })),
    storage,
  };
}

function queueSummary(queue: string, rows: QueueHour[], hours168: string[], dates: string[]): QueueSummary {
  const mine = new Map(rows.filter((r) => r.queue === queue).map((r) => [r.hour, r]));
  const figures = (h: string): QueueFigures => {
    const r = mine.get(h);
    return {
      sent: r?.sent ?? 0,
      processed: r?.processed ?? 0,
      retried: r?.retried ?? 0,
      failed: r?.failed ?? 0,
    };
  };
  const hours24 = hours168.slice(-24).map((h) => ({ at: h, ...figures(h) }));
  const total24 = hours24.reduce(
    (t, h) => ({
      sent: t.sent + h.sent,
      processed: t.processed + h.processed,
      retried: t.retried + h.retried,
      failed: t.failed + h.failed,
    }),
    { sent: 0, processed: 0, retried: 0, failed: 0 },
  );
  const days7 = dates.map((date) => {
    const t = { sent: 0, processed: 0, retried: 0, failed: 0 };
    for (const [hour, r] of mine) {
      if (!hour.startsWith(date)) continue;
      t.sent += r.sent;
      t.processed += r.processed;
      t.retried += r.retried;
      t.failed += r.failed;
    }
    return { at: date, ...t };
  });
  const latest = [...mine.values()]
    .filter((r) => r.maxLagMs > 0)
    .sort((a, b) => (a.hour < b.hour ? 1 : -1))[0];
  return {
    queue,
    backlog: Math.max(0, total24.sent - total24.processed - total24.failed),
    lagSeconds: latest ? Math.round(latest.maxLagMs / 1000) : 0,
    hours24,
    days7,
    total24,
  };
}

/** The database's size as D1 reports it after any query (`meta.size_after`). */
async function databaseSize(ctx: Ctx): Promise<number> {
  const r = await d1Of(ctx.db).prepare("SELECT 1").all();
  return Number((r.meta as { size_after?: number }).size_after ?? 0);
}

/**
 * Rows per table, on the owner's request only: counting reads every row of every table once (D1
 * bills each), so the page asks before it does it and says what it cost.
 */
export async function rowsPerTable(
  ctx: Ctx,
): Promise<{ tables: { name: string; rows: number }[]; rowsRead: number }> {
  const d1 = d1Of(ctx.db);
  const names = (
    await d1
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
      )
      .all<{ name: string }>()
  ).results.map((r) => r.name);
  if (names.length === 0) return { tables: [], rowsRead: 0 };
  const results = await d1.batch(
    names.map((n) => d1.prepare(`SELECT count(*) AS n FROM "${n.replace(/"/g, '""')}"`)),
  );
  return {
    tables: names.map((name, i) => ({
      name,
      rows: Number((results[i]?.results[0] as { n?: number })?.n ?? 0),
    })),
    rowsRead: results.reduce((n, r) => n + (r.meta.rows_read ?? 0), 0),
  };
}
