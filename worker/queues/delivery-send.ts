import type { Ctx } from "../context";
import { signRequest, type SignatureScheme } from "../lib/http-signatures";
import { checkRemoteUrl } from "../lib/url-safety";
import { localKeys, rememberScheme, userAgent } from "../services/signing";
import { gate, recordFailure, recordSuccesses, type Gate } from "./breaker";
import type { DeliveryMessage } from "./messages";

const TIMEOUT_MS = 15_000;

export type Outcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; error: string; delaySeconds?: number }
  | { kind: "held"; error: string; delaySeconds: number }
  | { kind: "permanent"; error: string };

/** One activity for one inbox, as it is signed and POSTed. */
export type OneDelivery = { inbox: string; body: string; signer: DeliveryMessage["signer"] };

/**
 * One signed POST. 2xx delivers; 4xx other than 401/408/429 is permanent; the rest is retried. A 401
 * to a cavage signature is retried at once with RFC 9421, and a host that accepts that is remembered.
 * While the host's breaker is open nothing is sent: the delivery is held.
 */
export async function deliverOne(ctx: Ctx, message: OneDelivery): Promise<Outcome> {
  const safe = checkRemoteUrl(message.inbox, { allowLoopback: ctx.config.allowLoopback });
  if (!safe.ok) return { kind: "permanent", error: `inbox URL refused: ${safe.reason}` };
  const host = safe.url.host;
  const outcome = await sendThrough(ctx, message, host, await gate(ctx, host));
  if (outcome.kind === "delivered" || outcome.kind === "permanent") await recordSuccesses(ctx, [host]);
  else if (outcome.kind === "retry") await recordFailure(ctx, host);
  return outcome;
}

/** The send behind a gate, without the breaker's bookkeeping (left to the caller, once per batch). */
export async function sendThrough(
  ctx: Ctx,
  message: OneDelivery,
  host: string,
  open: Gate,
  options: { meter?: { subrequests: number }; spreadSeconds?: number } = {},
): Promise<Outcome> {
  if (!open.send) {
    // A little spread, so the held deliveries of a host do not all return in the same second.
    const spread = options.spreadSeconds ?? Math.floor(Math.random() * 30);
    return {
      kind: "held",
      error: `breaker open for ${host}`,
      delaySeconds: Math.ceil(open.waitMs / 1000) + spread,
    };
  }
  const scheme: SignatureScheme = open.scheme === "rfc9421" ? "rfc9421" : "cavage";
  let result = await post(ctx, message, scheme, options.meter);
  if (result.status === 401 && scheme === "cavage") {
    const second = await post(ctx, message, "rfc9421", options.meter);
    if (second.status !== undefined && second.status < 300) await rememberScheme(ctx, host, "rfc9421");
    result = second;
  }
  return classify(result);
}

async function post(
  ctx: Ctx,
  message: OneDelivery,
  scheme: SignatureScheme,
  meter?: { subrequests: number },
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
    if (meter) meter.subrequests++;
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
