import { ConfigError, readConfig, type Config } from "../config";
import { createCtx } from "../context";
import type { Bindings } from "../env";
import { notifyEndedPolls } from "../services/notifications";
import { indexStatuses } from "../services/search";

/**
 * Cron upkeep, every 15 minutes: forget inbox ids older than a week (redeliveries come within hours),
 * bring the search index up to date, and notify about polls that ended. Each job runs even when an
 * earlier one failed.
 */
export async function upkeep(env: Bindings): Promise<void> {
  const jobs: [string, () => Promise<unknown>][] = [
    [
      "inbox_seen cleanup",
      () =>
        env.DB.prepare(
          "DELETE FROM inbox_seen WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')",
        ).run(),
    ],
  ];
  const config = await cronConfig(env);
  if (config) {
    const ctx = createCtx(env, config);
    jobs.push(["search index", () => indexStatuses(ctx, 2000)]);
    jobs.push(["ended polls", () => notifyEndedPolls(ctx)]);
  }
  for (const [name, job] of jobs) {
    try {
      await job();
    } catch (e) {
      console.error(`upkeep: ${name} failed`, e);
    }
  }
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
