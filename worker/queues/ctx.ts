import { readConfig } from "../config";
import { createCtx, type Ctx } from "../context";
import type { Bindings } from "../env";

/**
 * A Ctx for queue consumers and cron, which have no request host: in local dev (no WEB_DOMAIN set) the
 * domain recorded on first start is used.
 */
export async function ctxFromEnv(env: Bindings, execution?: ExecutionContext): Promise<Ctx | null> {
  let host: string | undefined;
  if (!env.WEB_DOMAIN) {
    const row = await env.DB.prepare("SELECT web_domain FROM instance WHERE id = 1").first<{
      web_domain: string;
    }>();
    if (!row) return null;
    host = row.web_domain;
  }
  return createCtx(env, readConfig(env, host), execution);
}

/**
 * The Ctx for a queue batch, or null after retrying the whole batch in 30 s when there is none yet
 * (before the first start) or D1 cannot be read: nothing of the batch has been touched then.
 */
export async function ctxForBatch(
  queue: string,
  batch: MessageBatch<unknown>,
  env: Bindings,
  execution?: ExecutionContext,
): Promise<Ctx | null> {
  let ctx: Ctx | null = null;
  try {
    ctx = await ctxFromEnv(env, execution);
  } catch (e) {
    console.error(`${queue}: no context for this batch`, e);
  }
  if (!ctx) batch.retryAll({ delaySeconds: 30 });
  return ctx;
}

/** Retry delay for attempt n (1-based): 30 s, 1 min, 2 min … capped at 6 h. */
export function backoffSeconds(attempt: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempt - 1), 6 * 60 * 60);
}
