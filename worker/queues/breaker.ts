import { inArray, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { hosts } from "../db/schema";

/**
 * The per-host delivery breaker. It measures an outage by how long it has lasted, not by how many
 * messages happened to fail during it: twenty deliveries failing in the same second are one moment of
 * an outage, not twenty. A host that has been failing for less than OUTAGE_BEFORE_OPEN is retried as
 * usual (each message on its own back-off), so a blip of a few seconds costs nothing. Past that, the
 * breaker opens for as long as the outage has lasted so far (at least a minute, at most MAX_OPEN):
 * five minutes down, five minutes closed; an hour down, an hour closed. When the window ends, one
 * delivery is let through as a probe (half-open); the others keep waiting until it succeeds.
 */
export const OUTAGE_BEFORE_OPEN_MS = 5 * 60_000;
/** And at least this many failures in the run, so one slow timeout cannot open it alone. */
export const FAILURES_BEFORE_OPEN = 5;
export const MAX_OPEN_MS = 6 * 3600_000;
/** How long a probe holds the half-open breaker before another delivery may try. */
const PROBE_LEASE_MS = 60_000;
/** A failure this long after the previous one (with no breaker window in between) starts a new run. */
const RUN_GAP_MS = 3600_000;

/** `probe`: this send claimed a half-open breaker, and no other delivery to the host may go with it. */
export type Gate = { send: true; scheme: string; probe?: true } | { send: false; waitMs: number };

/**
 * Whether a delivery to `host` may be sent now, claiming the probe when the breaker is half-open;
 * with the signature scheme the host wants, read in the same query.
 */
export async function gate(ctx: Ctx, host: string, now = Date.now()): Promise<Gate> {
  return (await gates(ctx, [host], now)).get(host) ?? { send: true, scheme: "cavage" };
}

/** The gates of several hosts in one read (a delivery batch's), each half-open one's probe claimed. */
export async function gates(ctx: Ctx, hostNames: string[], now = Date.now()): Promise<Map<string, Gate>> {
  const unique = [...new Set(hostNames)];
  const result = new Map<string, Gate>();
  if (unique.length === 0) return result;
  const states = await ctx.db
    .select({ host: hosts.host, openUntil: hosts.openUntil, scheme: hosts.signatureScheme })
    .from(hosts)
    .where(inArray(hosts.host, unique));
  const byHost = new Map(states.map((s) => [s.host, s]));
  await Promise.all(
    unique.map(async (host) => {
      const state = byHost.get(host);
      if (!state?.openUntil) return result.set(host, { send: true, scheme: state?.scheme ?? "cavage" });
      const until = Date.parse(state.openUntil);
      if (until > now) return result.set(host, { send: false, waitMs: until - now });
      // Half-open: the first to move the window forward is the probe.
      const lease = new Date(now + PROBE_LEASE_MS).toISOString();
      const claimed = await ctx.db
        .update(hosts)
        .set({ openUntil: lease })
        .where(sql`${hosts.host} = ${host} AND ${hosts.openUntil} = ${state.openUntil}`)
        .returning({ host: hosts.host });
      result.set(
        host,
        claimed.length > 0
          ? { send: true, scheme: state.scheme, probe: true }
          : { send: false, waitMs: PROBE_LEASE_MS },
      );
    }),
  );
  return result;
}

/** How long a delivery that lost the probe of a half-open breaker waits. */
export const PROBE_WAIT_MS = PROBE_LEASE_MS;

/** A host that answered (even with a permanent error) is alive: the run of failures ends. */
export async function recordSuccess(ctx: Ctx, host: string): Promise<void> {
  await recordSuccesses(ctx, [host]);
}

/** recordSuccess for the hosts that answered in a delivery batch, in one statement. */
export async function recordSuccesses(ctx: Ctx, hostNames: string[]): Promise<void> {
  const unique = [...new Set(hostNames)];
  if (unique.length === 0) return;
  const list = sql.join(
    unique.map((h) => sql`${h}`),
    sql`, `,
  );
  await ctx.db.run(sql`UPDATE hosts SET consecutive_failures = 0, failing_since = NULL, open_until = NULL,
      updated_at = ${new Date().toISOString()}
    WHERE host IN (${list}) AND (consecutive_failures > 0 OR open_until IS NOT NULL)`);
}

/**
 * Counts a failure (unreachable, 5xx, timeout) in the host's current run, and opens the breaker once
 * the run is both long enough and has failed often enough. One statement, so concurrent deliveries
 * of a batch cannot lose each other's counts.
 */
export async function recordFailure(ctx: Ctx, host: string, now = Date.now()): Promise<void> {
  const at = new Date(now).toISOString();
  const gap = new Date(now - RUN_GAP_MS).toISOString();
  // Seconds the run has lasted, with a stale run (no failure for an hour, no window since) restarted.
  const stale = sql`(updated_at < ${gap} AND (open_until IS NULL OR open_until < ${gap}))`;
  const since = sql`CASE WHEN ${stale} OR failing_since IS NULL THEN ${at} ELSE failing_since END`;
  const failures = sql`CASE WHEN ${stale} THEN 1 ELSE consecutive_failures + 1 END`;
  const lastedMs = sql`CAST((julianday(${at}) - julianday(${since})) * 86400000 AS INTEGER)`;
  await ctx.db.run(sql`
    INSERT INTO hosts (host, consecutive_failures, failing_since, updated_at) VALUES (${host}, 1, ${at}, ${at})
    ON CONFLICT (host) DO UPDATE SET
      open_until = CASE WHEN ${failures} >= ${FAILURES_BEFORE_OPEN} AND ${lastedMs} >= ${OUTAGE_BEFORE_OPEN_MS}
        THEN strftime('%Y-%m-%dT%H:%M:%fZ', ${at}, '+' || (MIN(${MAX_OPEN_MS}, MAX(60000, ${lastedMs})) / 1000.0) || ' seconds')
        ELSE open_until END,
      failing_since = ${since},
      consecutive_failures = ${failures},
      updated_at = ${at}`);
}
