import { ConfigError, readConfig, type Config } from "../config";
import { createCtx } from "../context";
import type { Bindings } from "../env";
import { notifyEndedPolls } from "../services/notifications";
import { indexStatuses } from "../services/search-index";
import { renormalizeStoredTags } from "../services/tags";
import { pruneRelayPosts } from "../services/relay-posts";
import { sweepDeliveryPayloads } from "./delivery-packs";
import { restartStalledImports } from "../services/imports/jobs";
import { resumeImports } from "./import-consumer";
import { resumeExports } from "../services/archive-export/queue";

/**
 * Statuses the cron indexes per run. bench:plan measured the index step at ~8 ms of Worker CPU for
 * 300 statuses (of a cron run of ~29 ms, the most of any job), so a run takes 150, on every other
 * run: 48 runs a day index 7,200, more than a follows-only day brings (~2,000).
 */
const CRON_INDEX_BATCH = 150;

/**
 * Which runs take a job: every run, or every other one (by the run's quarter hour: even or odd),
 * so that no run does all of them. The Free plan allows 10 ms of CPU an invocation, and bench:plan
 * measured the whole list at ~29 ms.
 */
export type UpkeepTurn = "every" | "even" | "odd";

export interface UpkeepJob {
  name: string;
  turn: UpkeepTurn;
  run: () => Promise<unknown>;
}

/** Whether a run scheduled at `at` is an even or an odd one (cron runs every 15 minutes). */
export const turnOf = (at: Date): "even" | "odd" =>
  Math.floor(at.getTime() / (15 * 60_000)) % 2 === 0 ? "even" : "odd";

/**
 * Cron upkeep, every 15 minutes. On every run: notify about polls that ended, restart CSV imports
 * whose chain of queue messages stalled, and archive imports and exports whose chunk crashed. On
 * even runs: bring the search index up to date. On odd runs: forget inbox ids older than a week
 * (redeliveries come within hours), remove large-activity payloads left in R2, expired OAuth codes
 * and quiet login-throttle rows, bring tag names stored before normalization up to date, and remove
 * relayed posts past their retention. Without `at` (tests, a run by hand) every job runs. Each job
 * runs even when an earlier one failed.
 */
export async function upkeep(env: Bindings, at?: Date): Promise<void> {
  const turn = at ? turnOf(at) : null;
  for (const job of await upkeepJobs(env)) {
    if (turn && job.turn !== "every" && job.turn !== turn) continue;
    try {
      await job.run();
    } catch (e) {
      console.error(`upkeep: ${job.name} failed`, e);
    }
  }
}

/** The cron's jobs, in the order a run takes them (bench:plan measures them one by one). */
export async function upkeepJobs(env: Bindings): Promise<UpkeepJob[]> {
  const jobs: UpkeepJob[] = [
    {
      name: "inbox_seen cleanup",
      turn: "odd",
      run: () =>
        env.DB.prepare(
          "DELETE FROM inbox_seen WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')",
        ).run(),
    },
    { name: "inbox payloads cleanup", turn: "odd", run: () => sweepInboxPayloads(env) },
    { name: "delivery payloads cleanup", turn: "odd", run: () => sweepDeliveryPayloads(env) },
    {
      name: "OAuth codes and login throttle cleanup",
      turn: "odd",
      run: () =>
        env.DB.batch([
          // A used code stays a day, so that a replay is still recognised and revokes its token.
          env.DB.prepare(
            "DELETE FROM oauth_codes WHERE (used_at IS NULL AND expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) OR used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')",
          ),
          // A throttle row quiet for a day holds nothing: no lock outlasts an hour, and misses are
          // forgotten after a day.
          env.DB.prepare(
            "DELETE FROM login_throttle WHERE updated_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')",
          ),
        ]),
    },
  ];
  const config = await cronConfig(env);
  if (config) {
    const ctx = createCtx(env, config);
    jobs.push(
      { name: "search index", turn: "even", run: () => indexStatuses(ctx, CRON_INDEX_BATCH) },
      { name: "ended polls", turn: "every", run: () => notifyEndedPolls(ctx) },
      { name: "tag names", turn: "odd", run: () => renormalizeStoredTags(ctx) },
      { name: "relayed posts past their retention", turn: "odd", run: () => pruneRelayPosts(ctx) },
      { name: "stalled imports", turn: "every", run: () => restartStalledImports(ctx) },
      { name: "archive imports left waiting", turn: "every", run: () => resumeImports(ctx) },
      { name: "archive exports left waiting", turn: "every", run: () => resumeExports(ctx) },
    );
  }
  return jobs;
}

/**
 * The configuration outside a request: from the vars, or (in local dev, where the domains default to
 * the request's host) from the identity recorded on first start. Null before the first start.
 */
async function cronConfig(env: Bindings): Promise<Config | null> {
  try {
    return readConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const row = await env.DB.prepare(
      "SELECT web_domain AS web, account_domain AS account, username FROM instance WHERE id = 1",
    ).first<{ web: string; account: string; username: string }>();
    if (!row) return null;
    return readConfig({ ...env, WEB_DOMAIN: row.web, ACCOUNT_DOMAIN: row.account, USERNAME: row.username });
  }
}

/**
 * Activities too large for a queue message wait in R2 under inbox/ until the consumer is done with
 * them, and the consumer deletes them. One left behind (a message lost by the platform, or a crash
 * between the ack and the delete) is removed here after two days, longer than any message lives.
 */
export async function sweepInboxPayloads(env: Bindings, now = Date.now()): Promise<number> {
  const listed = await env.MEDIA.list({ prefix: "inbox/", limit: 1000 });
  const old = listed.objects.filter((o) => now - o.uploaded.getTime() > 2 * 24 * 3600_000).map((o) => o.key);
  if (old.length > 0) await env.MEDIA.delete(old);
  return old.length;
}
