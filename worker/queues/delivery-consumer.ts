import type { Ctx } from "../context";
import type { Bindings } from "../env";
import { signRequest, type SignatureScheme } from "../lib/http-signatures";
import { checkRemoteUrl } from "../lib/url-safety";
import { localKeys, rememberScheme, userAgent } from "../services/signing";
import { gate, recordFailure, recordSuccess } from "./breaker";
import { backoffSeconds, ctxForBatch } from "./ctx";
import { keepDeadLetter } from "./dead-letters";
import { DeliveryMessage } from "./messages";

/**
 * Attempts (sends that actually happened) before a delivery goes to the dead letters. With the
 * back-off that is about an hour of a host failing while its breaker stays closed; during a longer
 * outage the breaker holds deliveries back without spending attempts, up to MAX_AGE_MS.
 */
export const DELIVERY_MAX_ATTEMPTS = 8;
/** A delivery still undelivered this long after it was first queued is given up. */
export const DELIVERY_MAX_AGE_MS = 3 * 24 * 3600_000;
const TIMEOUT_MS = 15_000;
/** Queues delays a message by at most 12 hours. */
const MAX_DELAY_S = 12 * 3600;

export type Outcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; error: string; delaySeconds?: number }
  | { kind: "held"; error: string; delaySeconds: number }
  | { kind: "permanent"; error: string };

type Message = MessageBatch<unknown>["messages"][number];

export async function consumeDelivery(
  batch: MessageBatch<unknown>,
  env: Bindings,
  execution: ExecutionContext,
) {
  const ctx = await ctxForBatch("delivery", batch, env, execution);
  if (!ctx) return;
  const held: MessageSendRequest<DeliveryMessage>[] = [];
  const heldMessages: Message[] = [];
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        const parsed = DeliveryMessage.safeParse(message.body);
        if (!parsed.success) {
          return await giveUp(ctx, message, String((message.body as { inbox?: unknown })?.inbox), {
            payload: JSON.stringify(message.body) ?? "null",
            error: `MalformedMessage: ${parsed.error.issues[0]?.message ?? "invalid"}`,
            attempts: message.attempts,
          });
        }
        const body = parsed.data;
        // Sends this delivery has made, counting earlier copies the breaker re-queued.
        const spent = (body.spent ?? 0) + message.attempts;
        const tooOld = body.since !== undefined && Date.now() - Date.parse(body.since) > DELIVERY_MAX_AGE_MS;
        const outcome = tooOld
          ? ({ kind: "permanent", error: "not delivered within 3 days" } as const)
          : await deliverOne(ctx, body);
        if (outcome.kind === "delivered") return message.ack();
        if (outcome.kind === "held") {
          // Held back without being sent: queued again with what it has spent so far (not this one).
          held.push({
            body: {
              ...body,
              spent: spent - 1,
              since: body.since ?? new Date(message.timestamp).toISOString(),
            },
            contentType: "json",
            delaySeconds: Math.min(outcome.delaySeconds, MAX_DELAY_S),
          });
          heldMessages.push(message);
          return;
        }
        if (outcome.kind === "retry" && spent < DELIVERY_MAX_ATTEMPTS) {
          return message.retry({ delaySeconds: outcome.delaySeconds ?? backoffSeconds(spent) });
        }
        await giveUp(ctx, message, body.inbox, { payload: body.body, error: outcome.error, attempts: spent });
      } catch (e) {
        console.error("delivery: unexpected failure", e);
        message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      }
    }),
  );
  if (held.length === 0) return;
  try {
    for (let i = 0; i < held.length; i += 100) await env.DELIVERY_QUEUE.sendBatch(held.slice(i, i + 100));
    for (const m of heldMessages) m.ack();
  } catch (e) {
    // Could not queue the copies: keep the originals (this costs them an attempt, but nothing is lost).
    console.error("delivery: could not hold messages back", e);
    for (const m of heldMessages) m.retry({ delaySeconds: 60 });
  }
}

/** Keeps a dead letter and acks, or leaves the message to the queue when even that cannot be written. */
async function giveUp(
  ctx: Ctx,
  message: Message,
  inbox: string,
  entry: { payload: string; error: string; attempts: number },
) {
  try {
    await keepDeadLetter(ctx, { kind: "delivery", target: inbox, ...entry });
    message.ack();
  } catch (e) {
    console.error("delivery: could not keep a dead letter", e);
    message.retry({ delaySeconds: 300 });
  }
}

/**
 * One signed POST. 2xx delivers; 4xx other than 401/408/429 is permanent; the rest is retried. A 401
 * to a cavage signature is retried at once with RFC 9421, and a host that accepts that is remembered.
 * While the host's breaker is open nothing is sent: the delivery is held.
 */
export async function deliverOne(ctx: Ctx, message: DeliveryMessage): Promise<Outcome> {
  const safe = checkRemoteUrl(message.inbox, { allowLoopback: ctx.config.allowLoopback });
  if (!safe.ok) return { kind: "permanent", error: `inbox URL refused: ${safe.reason}` };
  const host = safe.url.host;
  const open = await gate(ctx, host);
  if (!open.send) {
    // A little spread, so the held deliveries of a host do not all return in the same second.
    const delaySeconds = Math.ceil(open.waitMs / 1000) + Math.floor(Math.random() * 30);
    return { kind: "held", error: `breaker open for ${host}`, delaySeconds };
  }
  const scheme: SignatureScheme = open.scheme === "rfc9421" ? "rfc9421" : "cavage";
  let result = await post(ctx, message, scheme);
  if (result.status === 401 && scheme === "cavage") {
    const second = await post(ctx, message, "rfc9421");
    if (second.status !== undefined && second.status < 300) await rememberScheme(ctx, host, "rfc9421");
    result = second;
  }
  const outcome = classify(result);
  if (outcome.kind === "delivered" || outcome.kind === "permanent") await recordSuccess(ctx, host);
  else await recordFailure(ctx, host);
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
