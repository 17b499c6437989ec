import type { Bindings } from "../env";

/** Cron upkeep: forget inbox ids older than a week (redeliveries come within hours). */
export async function upkeep(env: Bindings): Promise<void> {
  await env.DB.prepare(
    "DELETE FROM inbox_seen WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')",
  ).run();
}
