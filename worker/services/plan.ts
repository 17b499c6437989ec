/**
 * The Workers plans' limits and prices, and what the metered day means against them: how much of
 * each daily Free limit is used, when at this rate it runs out, and what a month like the last week
 * would cost on the Free and on the $5 plan. Pure functions of the metered figures
 * (services/usage.ts), so the dashboard shows exactly what these compute.
 *
 * Figures from Cloudflare's pricing and limits pages for Workers, D1, Queues and R2 (as of 2026-12).
 * Free daily limits reset at 00:00 UTC. R2's free allowance is the same on both plans, per month.
 */

export type Metric = "requests" | "d1RowsRead" | "d1RowsWritten" | "queueOps" | "r2ClassA" | "r2ClassB";

export const METRICS: Metric[] = [
  "requests",
  "d1RowsRead",
  "d1RowsWritten",
  "queueOps",
  "r2ClassA",
  "r2ClassB",
];

export const METRIC_LABELS: Record<Metric, string> = {
  requests: "Requests",
  d1RowsRead: "D1 rows read",
  d1RowsWritten: "D1 rows written",
  queueOps: "Queue operations",
  r2ClassA: "R2 class A operations",
  r2ClassB: "R2 class B operations",
};

/** The Free plan per day (R2: its monthly allowance over 30 days, as a pace to keep). */
export const FREE_DAILY: Record<Metric, number> = {
  requests: 100_000,
  d1RowsRead: 5_000_000,
  d1RowsWritten: 100_000,
  queueOps: 10_000,
  r2ClassA: 1_000_000 / 30,
  r2ClassB: 10_000_000 / 30,
};

/** Hard limits of the Free plan: a request over them fails (R2 is billed instead, on any plan). */
export const FREE_HARD: Record<Metric, boolean> = {
  requests: true,
  d1RowsRead: true,
  d1RowsWritten: true,
  queueOps: true,
  r2ClassA: false,
  r2ClassB: false,
};

/** Per invocation on the Free plan. */
export const FREE_PER_INVOCATION = { subrequests: 50, d1Queries: 50, cpuMs: 10 };

/** What the $5 plan includes per month, and the price per million beyond. */
export const PAID_MONTHLY: Record<Metric, { included: number; perMillion: number }> = {
  requests: { included: 10_000_000, perMillion: 0.3 },
  d1RowsRead: { included: 25_000_000_000, perMillion: 0.001 },
  d1RowsWritten: { included: 50_000_000, perMillion: 1.0 },
  queueOps: { included: 1_000_000, perMillion: 0.4 },
  r2ClassA: { included: 1_000_000, perMillion: 4.5 },
  r2ClassB: { included: 10_000_000, perMillion: 0.36 },
};
export const PAID_BASE_USD = 5;

export const STORAGE = {
  /** A D1 database on Free; on the $5 plan 5 GB are included, then $0.75 per GB-month. */
  d1FreeBytes: 500 * 1024 ** 2,
  d1PaidIncludedBytes: 5 * 1024 ** 3,
  d1PaidPerGbMonth: 0.75,
  /** R2 on any plan: 10 GB free, then $0.015 per GB-month. */
  r2FreeBytes: 10 * 1024 ** 3,
  r2PerGbMonth: 0.015,
};

export type Totals = Record<Metric, number>;

export function emptyTotals(): Totals {
  return { requests: 0, d1RowsRead: 0, d1RowsWritten: 0, queueOps: 0, r2ClassA: 0, r2ClassB: 0 };
}

export interface DayUse {
  metric: Metric;
  used: number;
  limit: number;
  share: number;
  /** The rate over the last hour, per hour. */
  perHour: number;
  /** When, at that rate, today's Free limit is reached (ISO), if before the day ends. */
  runsOutAt: string | null;
}

/**
 * Today's use of each Free limit. The rate is that of the last 60 minutes: the current hour so far
 * plus the part of the previous hour that falls within them, so a burst shows at once and an old one
 * fades within the hour.
 */
export function dayUse(today: Totals, thisHour: Totals, lastHour: Totals, now: Date): DayUse[] {
  const minutes = now.getUTCMinutes() + now.getUTCSeconds() / 60;
  const endOfDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return METRICS.map((metric) => {
    const used = today[metric];
    const limit = FREE_DAILY[metric];
    const perHour = thisHour[metric] + lastHour[metric] * (1 - minutes / 60);
    let runsOutAt: string | null = null;
    if (used >= limit) runsOutAt = now.toISOString();
    else if (perHour > 0) {
      const at = now.getTime() + ((limit - used) / perHour) * 3_600_000;
      if (at < endOfDay) runsOutAt = new Date(at).toISOString();
    }
    return { metric, used, limit, share: used / limit, perHour, runsOutAt };
  });
}

export interface MonthlyEstimate {
  /** A month (30 days) at the average metered day of the period. */
  perMonth: Totals;
  days: number;
  /** Free: what would not fit (the hard daily limits the average day exceeds). */
  freeFits: boolean;
  freeOver: Metric[];
  /** On the $5 plan: the base price plus what goes beyond what it includes. */
  paidUsd: number;
  paidLines: { metric: Metric | "d1Storage" | "r2Storage"; usd: number }[];
  /** R2 beyond its free allowance costs money on the Free plan too. */
  freeUsd: number;
}

/**
 * A month like the metered period (`days` days, at least one): per metric, the period's total over
 * its days, times 30. Storage is taken as it is now.
 */
export function monthlyEstimate(
  period: Totals,
  days: number,
  storage: { d1Bytes: number; r2Bytes: number },
): MonthlyEstimate {
  const d = Math.max(1, days);
  const perMonth = emptyTotals();
  for (const m of METRICS) perMonth[m] = (period[m] / d) * 30;
  const freeOver = METRICS.filter((m) => FREE_HARD[m] && period[m] / d > FREE_DAILY[m]);
  const r2Lines: { metric: Metric | "r2Storage"; usd: number }[] = [];
  for (const m of ["r2ClassA", "r2ClassB"] as const) {
    const over = Math.max(0, perMonth[m] - PAID_MONTHLY[m].included);
    if (over > 0) r2Lines.push({ metric: m, usd: (over / 1e6) * PAID_MONTHLY[m].perMillion });
  }
  const r2Over = Math.max(0, storage.r2Bytes - STORAGE.r2FreeBytes) / 1024 ** 3;
  if (r2Over > 0) r2Lines.push({ metric: "r2Storage", usd: r2Over * STORAGE.r2PerGbMonth });
  const paidLines: MonthlyEstimate["paidLines"] = [];
  for (const m of ["requests", "d1RowsRead", "d1RowsWritten", "queueOps"] as const) {
    const over = Math.max(0, perMonth[m] - PAID_MONTHLY[m].included);
    if (over > 0) paidLines.push({ metric: m, usd: (over / 1e6) * PAID_MONTHLY[m].perMillion });
  }
  const d1Over = Math.max(0, storage.d1Bytes - STORAGE.d1PaidIncludedBytes) / 1024 ** 3;
  if (d1Over > 0) paidLines.push({ metric: "d1Storage", usd: d1Over * STORAGE.d1PaidPerGbMonth });
  paidLines.push(...r2Lines);
  const r2Usd = r2Lines.reduce((n, l) => n + l.usd, 0);
  return {
    perMonth,
    days: d,
    freeFits: freeOver.length === 0 && storage.d1Bytes <= STORAGE.d1FreeBytes,
    freeOver,
    paidUsd: PAID_BASE_USD + paidLines.reduce((n, l) => n + l.usd, 0),
    paidLines,
    freeUsd: r2Usd,
  };
}

/** "17:40 UTC" */
export function clock(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

export interface Warning {
  level: "warn" | "over";
  text: string;
}

/**
 * The owner's warnings: a Free limit already reached, or reached before midnight UTC at the last
 * hour's rate; an invocation that came near a per-invocation limit; a relay held by its cap; the
 * database near its size limit.
 */
export function warnings(
  use: DayUse[],
  opts: {
    maxSubrequests: number;
    maxD1Queries: number;
    d1Bytes: number;
    cappedRelays: { name: string; capped: number }[];
  },
): Warning[] {
  const out: Warning[] = [];
  for (const u of use) {
    if (!FREE_HARD[u.metric]) continue;
    const label = METRIC_LABELS[u.metric];
    if (u.used >= u.limit) {
      out.push({
        level: "over",
        text: `The Free plan's ${label} for today are used up (${fmt(u.used)} of ${fmt(u.limit)}).`,
      });
    } else if (u.runsOutAt) {
      out.push({
        level: "warn",
        text: `At this rate the Free plan's ${label} run out at ${clock(u.runsOutAt)} (${fmt(u.used)} of ${fmt(u.limit)} used).`,
      });
    }
  }
  if (opts.maxSubrequests > FREE_PER_INVOCATION.subrequests * 0.8) {
    out.push({
      level: opts.maxSubrequests > FREE_PER_INVOCATION.subrequests ? "over" : "warn",
      text: `An invocation made ${opts.maxSubrequests} subrequests today (Free allows ${FREE_PER_INVOCATION.subrequests}).`,
    });
  }
  if (opts.maxD1Queries > FREE_PER_INVOCATION.d1Queries * 0.8) {
    out.push({
      level: opts.maxD1Queries > FREE_PER_INVOCATION.d1Queries ? "over" : "warn",
      text: `An invocation made ${opts.maxD1Queries} D1 queries today (Free allows ${FREE_PER_INVOCATION.d1Queries}).`,
    });
  }
  if (opts.d1Bytes > STORAGE.d1FreeBytes * 0.8) {
    out.push({
      level: opts.d1Bytes > STORAGE.d1FreeBytes ? "over" : "warn",
      text: `The database holds ${mb(opts.d1Bytes)} of the Free plan's ${mb(STORAGE.d1FreeBytes)}: shorten the relays' retention.`,
    });
  }
  for (const r of opts.cappedRelays) {
    out.push({
      level: "warn",
      text: `Relay ${r.name} is capped: ${fmt(r.capped)} of its activities today were over its daily or per-minute cap.`,
    });
  }
  return out;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MB`;
}
