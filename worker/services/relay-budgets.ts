import type { Ctx } from "../context";
import { onForgetIsolateCaches } from "../lib/isolate-cache";
import { normalizeTag } from "../lib/text/hashtags";
import { relayHours, storedInIsolate, unflushedSince } from "./relay-accounting";
import type { Relay } from "./relays";

/**
 * A relay's budgets, applied before anything is fetched or verified: its filters (languages,
 * hashtags), its rate cap, its daily cap, and sampling that spreads the daily cap over the day.
 * Sampling is deterministic by object id, so the same post through two relays gets the same answer,
 * and a post sampled out stays out if the relay sends it again.
 *
 * The caps are kept per isolate from D1's hourly counts (re-read every few seconds) plus what this
 * isolate counted since: several isolates taking one relay's traffic at once may overshoot a cap by
 * what they store in those seconds, never more.
 */

export type Verdict = "pass" | "filtered" | "sampled" | "capped";

/** What the budgets look at, read from the activity before it is authenticated. */
export interface Candidate {
  objectId: string;
  /** The post's language, when it says (contentMap key or language field). */
  language?: string | null;
  /** Its hashtags, as written (normalized here). */
  tags?: string[];
}

/** Filters only: what a post that arrived by id (LitePub) is checked against once fetched. */
export function passesFilters(relay: Relay, c: Candidate): boolean {
  if (relay.languages.length > 0 && c.language) {
    const primary = c.language.toLowerCase().split("-")[0] ?? "";
    if (!relay.languages.includes(primary)) return false;
  }
  if (relay.tags.length > 0) {
    const tags = new Set((c.tags ?? []).map(normalizeTag));
    if (!relay.tags.some((t) => tags.has(t))) return false;
  }
  return true;
}

const STORED_CACHE_MS = 5000;
// Resolved values, not promises: a promise made by one request must not be awaited by another.
const storedToday = new Map<string, { day: string; at: number; here: number; written: number }>();
const perMinute = new Map<string, { minute: number; taken: number }>();

/**
 * Posts stored today (UTC) for a relay: D1's hourly counts as last read (every few seconds), plus
 * what this isolate stored since that read.
 */
export async function storedTodayCount(ctx: Ctx, relayId: string, now = new Date()): Promise<number> {
  const day = now.toISOString().slice(0, 10);
  let entry = storedToday.get(relayId);
  if (!entry || entry.day !== day || Date.now() - entry.at > STORED_CACHE_MS) {
    // What this isolate counted and has not written yet is not in D1's figure either.
    const here = storedInIsolate(relayId, day) - unflushedSince(relayId, `${day}T00`).stored;
    const written = (await relayHours(ctx, relayId, `${day}T00`)).reduce((n, r) => n + r.stored, 0);
    entry = { day, at: Date.now(), here, written };
    storedToday.set(relayId, entry);
  }
  return entry.written + storedInIsolate(relayId, day) - entry.here;
}

/** Forgets the cached counts (tests that rewrite relay_stats). */
export function forgetBudgetCache(): void {
  storedToday.clear();
  perMinute.clear();
}
onForgetIsolateCaches(forgetBudgetCache);

/**
 * The budget verdict for one relayed post, before any fetch: filtered by the relay's filters (when
 * the activity carries the post), capped when the daily or per-minute cap is reached, sampled out
 * when ahead of the day's pace. "pass" takes one unit of the minute's rate.
 */
export async function budgetVerdict(
  ctx: Ctx,
  relay: Relay,
  c: Candidate,
  opts: { filters: boolean },
  now = new Date(),
): Promise<Verdict> {
  if (opts.filters && !passesFilters(relay, c)) return "filtered";
  const stored = await storedTodayCount(ctx, relay.id, now);
  if (stored >= relay.dailyCap) return "capped";
  const minute = Math.floor(now.getTime() / 60_000);
  let rate = perMinute.get(relay.id);
  if (!rate || rate.minute !== minute) perMinute.set(relay.id, (rate = { minute, taken: 0 }));
  if (rate.taken >= relay.rateCap) return "capped";
  if (relay.sampling) {
    const keep = keepFraction(relay.dailyCap, stored, now);
    if (keep < 1 && (await unitHash(c.objectId)) >= keep) return "sampled";
  }
  rate.taken++;
  return "pass";
}

/**
 * The share of posts to keep so that the daily cap lasts the day: all of them while stored posts
 * are within the pace line (the cap times the part of the day gone, plus an hour's worth of burst),
 * then the pace line over what is stored, so the further ahead, the fewer are kept.
 */
export function keepFraction(dailyCap: number, storedToday: number, now: Date): number {
  const dayMs = 86_400_000;
  const elapsed = (now.getTime() % dayMs) / dayMs;
  const allowed = dailyCap * elapsed + dailyCap / 24;
  if (storedToday < allowed) return 1;
  return Math.max(0, Math.min(1, allowed / Math.max(1, storedToday)));
}

/** An object id mapped to [0, 1), the same everywhere: the first 32 bits of its SHA-256. */
export async function unitHash(id: string): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id));
  return new DataView(digest).getUint32(0) / 2 ** 32;
}
