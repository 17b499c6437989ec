/**
 * Delivery packs: one queue message carries one activity for up to PACK_INBOXES inboxes. Queues bill
 * an operation per 64 KB written, read or deleted (about three per message, one more per retry) and
 * the Free plan allows 10,000 a day, so a post to 200 shared inboxes costs ⌈200/6⌉ = 34 messages
 * (~100 operations) instead of 200 (~600).
 *
 * The size of a pack is set by what one consumer invocation may spend on the Free plan: 10 ms of CPU,
 * 50 subrequests and 50 D1 queries.
 * - CPU: an RSA-2048 signature costs ~0.7–1 ms; building the request, the body's SHA-256 digest and
 *   the URL checks ~0.1 ms more per inbox; parsing the batch, zod and D1 results ~2 ms per
 *   invocation. (10 − 2) ms / ~1.1 ms ≈ 7 signed POSTs, and a host that refuses draft-cavage costs a
 *   second signature (RFC 9421) once, before its scheme is remembered: so 6 inboxes per invocation.
 * - Subrequests: at most 2 POSTs per inbox (12), one R2 read per message whose body is in R2 (≤ 6),
 *   one sendBatch per 256 KB of follow-ups (≤ 4): ≤ 22 of 50.
 * - D1: one breaker read for every host of the batch, one write for every host that answered; per
 *   inbox at most a probe claim, a failure count and a remembered scheme (18); one insert for the
 *   dead letters; the keys and the instance row when the isolate is new (2): ≤ 23 of 50.
 * A consumer batch therefore holds at most BATCH_INBOXES inboxes: wrangler.toml should give the
 * delivery queue `max_batch_size = 1` (a message is a whole invocation's work); messages of a larger
 * batch beyond the budget are queued again at once, without spending an attempt.
 */
import type { Bindings } from "../env";
import { DeliveryMessage, INLINE_MESSAGE_BYTES, MAX_PACK_INBOXES } from "./messages";

export const PACK_INBOXES = MAX_PACK_INBOXES;
export const BATCH_INBOXES = 6;
/** The Free plan's limits for one invocation, which the consumer's counts are held to. */
export const SUBREQUEST_LIMIT = 50;
export const D1_QUERY_LIMIT = 50;

/** Queues takes at most 100 messages and 256 KB in one sendBatch. */
const SEND_BATCH_MESSAGES = 100;
const SEND_BATCH_BYTES = 240_000;
/** What Queues adds to each message's body (its own metadata), for the 256 KB sum. */
const MESSAGE_OVERHEAD_BYTES = 128;

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s).byteLength;

type Content = { body: string } | { payload: string };
type Signer = DeliveryMessage["signer"];

/**
 * Where the activity travels: inline while the largest pack fits a queue message, else once in R2
 * for all the activity's packs (removed by `sweepDeliveryPayloads` once no message can need it).
 */
export async function deliveryContent(env: Bindings, body: string, inboxes: string[]): Promise<Content> {
  const longest = [...inboxes].sort((a, b) => bytes(b) - bytes(a)).slice(0, PACK_INBOXES);
  const envelope = bytes(JSON.stringify({ inboxes: longest, signer: "instance", since: new Date() })) + 64;
  if (bytes(body) + envelope <= INLINE_MESSAGE_BYTES) return { body };
  const payload = `delivery/${crypto.randomUUID()}.json`;
  await env.MEDIA.put(payload, body, { httpMetadata: { contentType: "application/activity+json" } });
  return { payload };
}

/**
 * The messages for one activity's inboxes: packs of PACK_INBOXES, inboxes of one host side by side
 * (so that a host's breaker holds back as few packs as possible); a pack of one in the first shape.
 */
export function packs(
  inboxes: string[],
  content: Content,
  fields: { signer: Signer; since: string; spent?: number },
  delaySeconds?: number,
): MessageSendRequest<DeliveryMessage>[] {
  const sorted = [...inboxes].sort((a, b) => hostOf(a).localeCompare(hostOf(b)) || a.localeCompare(b));
  const messages: MessageSendRequest<DeliveryMessage>[] = [];
  for (let i = 0; i < sorted.length; i += PACK_INBOXES) {
    const chunk = sorted.slice(i, i + PACK_INBOXES);
    const target = chunk.length === 1 ? { inbox: chunk[0] } : { inboxes: chunk };
    const body: DeliveryMessage = { ...target, ...content, ...fields };
    messages.push(
      delaySeconds === undefined
        ? { body, contentType: "json" }
        : { body, contentType: "json", delaySeconds },
    );
  }
  return messages;
}

function hostOf(inbox: string): string {
  try {
    return new URL(inbox).host;
  } catch {
    return "";
  }
}

/**
 * Queues one activity (its JSON) for these inboxes, each to be signed by `signer` at send time: the
 * way in for every delivery, a dead letter's retry included (which may carry a body too large for a
 * queue message of its own).
 */
export async function queueDelivery(
  env: Bindings,
  inboxes: string[],
  body: string,
  fields: { signer: Signer; since?: string },
): Promise<void> {
  if (inboxes.length === 0) return;
  const content = await deliveryContent(env, body, inboxes);
  const since = fields.since ?? new Date().toISOString();
  await sendAll(env.DELIVERY_QUEUE, packs(inboxes, content, { signer: fields.signer, since }));
}

/** Sends messages in as few sendBatch calls as Queues' limits allow; returns how many calls it made. */
export async function sendAll(
  queue: Queue<DeliveryMessage>,
  messages: MessageSendRequest<DeliveryMessage>[],
): Promise<number> {
  let calls = 0;
  let chunk: MessageSendRequest<DeliveryMessage>[] = [];
  let size = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    calls++;
    await queue.sendBatch(chunk);
    chunk = [];
    size = 0;
  };
  for (const m of messages) {
    const n = bytes(JSON.stringify(m.body)) + MESSAGE_OVERHEAD_BYTES;
    if (chunk.length === SEND_BATCH_MESSAGES || (chunk.length > 0 && size + n > SEND_BATCH_BYTES))
      await flush();
    chunk.push(m);
    size += n;
  }
  await flush();
  return calls;
}

/** The activity's JSON of a message, from the message or from R2; null when R2 no longer has it. */
export async function loadBody(env: Bindings, message: DeliveryMessage): Promise<string | null> {
  if (message.body !== undefined) return message.body;
  if (message.payload === undefined) return null;
  const object = await env.MEDIA.get(message.payload);
  return object ? object.text() : null;
}

/**
 * R2 bodies are shared by every pack of an activity and by their follow-ups, so none of them can
 * delete it; the last can be needed 3 days after the first was queued (DELIVERY_MAX_AGE_MS) plus a
 * 12-hour delay. Upkeep removes those older than 4 days.
 */
export const DELIVERY_PAYLOAD_TTL_MS = 4 * 24 * 3600_000;

export async function sweepDeliveryPayloads(env: Bindings, now = Date.now()): Promise<number> {
  const listed = await env.MEDIA.list({ prefix: "delivery/", limit: 1000 });
  const old = listed.objects
    .filter((o) => now - o.uploaded.getTime() > DELIVERY_PAYLOAD_TTL_MS)
    .map((o) => o.key);
  if (old.length > 0) await env.MEDIA.delete(old);
  return old.length;
}
