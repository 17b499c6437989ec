import { eq, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { hosts } from "../db/schema";
import type { Bindings } from "../env";
import { signRequest, type SignatureScheme } from "../lib/http-signatures";
import { checkRemoteUrl } from "../lib/url-safety";
import { localKeys, rememberScheme, userAgent } from "../services/signing";
import { backoffSeconds, ctxFromEnv } from "./ctx";
import { keepDeadLetter } from "./dead-letters";
import type { DeliveryMessage } from "./messages";

/** Attempts before a delivery goes to the dead letters (about a day and a half with the back-off). */
export const DELIVERY_MAX_ATTEMPTS = 8;
/** Consecutive failures after which a host's breaker opens. */
const BREAKER_THRESHOLD = 5;
const TIMEOUT_MS = 15_000;

export type Outcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; error: string; delaySeconds?: number }
  | { kind: "permanent"; error: string };

export async function consumeDelivery(
  batch: MessageBatch<DeliveryMessage>,
  env: Bindings,
  execution: ExecutionContext,
) {
  const ctx = await ctxFromEnv(env, execution);
  if (!ctx) return batch.retryAll({ delaySeconds: 30 });
  await Promise.all(
    batch.messages.map(async (message) => {
      const outcome = await deliverOne(ctx, message.body);
      if (outcome.kind === "delivered") return message.ack();
      if (outcome.kind === "retry" && message.attempts < DELIVERY_MAX_ATTEMPTS) {
        return message.retry({ delaySeconds: outcome.delaySeconds ?? backoffSeconds(message.attempts) });
      }
      await keepDeadLetter(ctx, {
        kind: "delivery",
        target: message.body.inbox,
        payload: message.body.body,
        error: outcome.error,
        attempts: message.attempts,
      });
      message.ack();
    }),
  );
}

/**
 * One signed POST. 2xx delivers; 4xx other than 401/408/429 is permanent; the rest is retried. A 401
 * to a cavage signature is retried at once with RFC 9421, and a host that accepts that is remembered.
 */
export async function deliverOne(ctx: Ctx, message: DeliveryMessage): Promise<Outcome> {
  const safe = checkRemoteUrl(message.inbox, { allowLoopback: ctx.config.allowLoopback });
  if (!safe.ok) return { kind: "permanent", error: `inbox URL refused: ${safe.reason}` };
  const host = safe.url.host;
  const state = (await ctx.db.select().from(hosts).where(eq(hosts.host, host)).limit(1))[0];
  if (state?.openUntil && Date.parse(state.openUntil) > Date.now()) {
    const wait = Math.ceil((Date.parse(state.openUntil) - Date.now()) / 1000);
    return { kind: "retry", error: `breaker open for ${host}`, delaySeconds: Math.min(wait, 12 * 3600) };
  }
  const scheme: SignatureScheme = state?.signatureScheme === "rfc9421" ? "rfc9421" : "cavage";
  let result = await post(ctx, message, scheme);
  if (result.status === 401 && scheme === "cavage") {
    const second = await post(ctx, message, "rfc9421");
    if (second.status !== undefined && second.status < 300) await rememberScheme(ctx, host, "rfc9421");
    result = second;
  }
  const outcome = classify(result);
  await recordHealth(ctx, host, outcome.kind === "delivered" || outcome.kind === "permanent");
  return outcome;
}

async function post(
  ctx: Ctx,
  message: DeliveryMessage,
  scheme: SignatureScheme,
): Promise<{ status?: number; error?: string }> {
  const keys = await localKeys(ctx);
  const key = message.signer === "instance" ? keys.instance : keys.owner;
  const body = new TextEncoder().encode(message.body);
  const request = await signRequest(
    new Request(message.inbox, {
      method: "POST",
      headers: {
        "content-type": "application/activity+json",
        "user-agent": userAgent(ctx),
        accept: "application/activity+json",
      },
      body,
    }),
    body,
    { ...key, scheme },
  );
  try {
    const response = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
    await response.body?.cancel();
    return { status: response.status };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

function classify(result: { status?: number; error?: string }): Outcome {
  const status = result.status;
  if (status === undefined) return { kind: "retry", error: result.error ?? "network error" };
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status >= 400 && status < 500 && ![401, 408, 429].includes(status)) {
    return { kind: "permanent", error: `HTTP ${status}` };
  }
  return { kind: "retry", error: `HTTP ${status}` };
}

/** A host that answered (even with a permanent error) is alive; the breaker counts only unreachable/5xx. */
async function recordHealth(ctx: Ctx, host: string, healthy: boolean) {
  if (healthy) {
    await ctx.db.run(
      sql`UPDATE hosts SET consecutive_failures = 0, open_until = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
          WHERE host = ${host} AND consecutive_failures > 0`,
    );
    return;
  }
  // After BREAKER_THRESHOLD failures in a row the breaker opens for 2^(n - threshold) minutes, up to a day.
  await ctx.db.run(sql`
    INSERT INTO hosts (host, consecutive_failures) VALUES (${host}, 1)
    ON CONFLICT (host) DO UPDATE SET
      consecutive_failures = consecutive_failures + 1,
      open_until = CASE WHEN consecutive_failures + 1 >= ${BREAKER_THRESHOLD}
        THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || MIN(1440, 1 << MIN(20, consecutive_failures + 1 - ${BREAKER_THRESHOLD})) || ' minutes')
        ELSE NULL END,
      updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`);
}
