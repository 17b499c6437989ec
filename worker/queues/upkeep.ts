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
 * Statuses the cron indexes per run: a bounded step, the size search already uses (a day's backlog
 * of 2,000 in one run was many times the Free plan's 10 ms of CPU). 96 runs a day index 28,800.
 * bench:plan still measures a cron run above 10 ms with 100 or 300 a run alike: the indexer is not
 * what is left of it.
 */
const CRON_INDEX_BATCH = 300;

/**
 * Cron upkeep, every 15 minutes: forget inbox ids older than a week (redeliveries come within hours),
 * remove large-activity payloads left in R2, expired OAuth codes and quiet login-throttle rows, bring
 * the search index up to date, notify about polls that ended, and bring tag names stored before
 * normalization up to date, and restart CSV imports whose chain of queue messages stalled and archive
 * imports whose chunk crashed. Each job runs even when an earlier one failed.
 */
export async function upkeep(env: Bindings): Promise<void> {
  for (const [name, job] of await upkeepJobs(env)) {
    try {
      await job();
    } catch (e) {
      console.error(`upkeep: ${name} failed`, e);
    }
  }
}

/** The cron's jobs by name, in the order a run takes them (bench:plan measures them one by one). */
export async function upkeepJobs(env: Bindings): Promise<[string, () => Promise<unknown>][]> {
  const jobs: [string, () => Promise<unknown>][] = [
    [
      "inbox_seen cleanup",
      () =>
        env.DB.prepare(
          "DELETE FROM inbox_seen WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')",
        ).run(),
    ],
    ["inbox payloads cleanup", () => sweepInboxPayloads(env)],
    ["delivery payloads cleanup", () => sweepDeliveryPayloads(env)],
    [
      "OAuth codes and login throttle cleanup",
      () =>
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
    ],
  ];
  const config = await cronConfig(env);
  if (config) {
    const ctx = createCtx(env, config);
    jobs.push(["search index", () => indexStatuses(ctx, CRON_INDEX_BATCH)]);
    jobs.push(["ended polls", () => notifyEndedPolls(ctx)]);
    jobs.push(["tag names", () => renormalizeStoredTags(ctx)]);
    jobs.push(["relayed posts past their retention", () => pruneRelayPosts(ctx)]);
    jobs.push(["stalled imports", () => restartStalledImports(ctx)]);
    jobs.push(["archive imports left waiting", () => resumeImports(ctx)]);
    jobs.push(["archive exports left waiting", () => resumeExports(ctx)]);
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
