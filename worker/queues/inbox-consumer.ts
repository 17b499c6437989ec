import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import type { Bindings } from "../env";
import { processActivity, PermanentError } from "../federation/inbox";
import { RemoteFetchError, type FetchFailure } from "../lib/remote-fetch";
import { InvalidActorError } from "../services/accounts";
import { FollowError } from "../services/following";
import { InvalidObjectError } from "../services/remote-statuses";
import { backoffSeconds, ctxForBatch } from "./ctx";
import { keepDeadLetter } from "./dead-letters";
import { InboxMessage, type ReceivedActivity } from "./messages";

/** Attempts before an incoming activity goes to the dead letters (wrangler.toml max_retries agrees). */
export const INBOX_MAX_ATTEMPTS = 5;

/** Fetch failures that no retry can cure: the document is gone, wrong, or at an address Perch refuses. */
const PERMANENT_FETCH = new Set<FetchFailure>([
  "not_found",
  "gone",
  "id_mismatch",
  "bad_content_type",
  "bad_json",
  "too_large",
  "invalid_url",
  "scheme_not_allowed",
  "credentials",
  "ip_literal",
  "private_address",
  "port_not_allowed",
  "too_many_redirects",
]);

type Message = Message_<unknown>;
type Message_<T> = MessageBatch<T>["messages"][number];

/** A message whose activity is loaded, ready for the handlers. */
interface Loaded {
  message: Message;
  body: InboxMessage;
  received: ReceivedActivity;
}

/**
 * Processes a batch in order. Creates defer their INSERT, and consecutive ones are written as one D1
 * batch (one round trip instead of one per post); any other activity first flushes what is pending,
 * so a Delete or Update never overtakes the Create it refers to.
 *
 * No message can take another down with it: each is handled, acked, retried or kept as a dead letter
 * on its own; a combined write that fails is written again message by message; and whatever escapes
 * (an exception here, or the invocation dying) leaves the unacked messages to the queue's retries
 * and finally to its dead-letter queue, which `consumeFailed` records.
 */
export async function consumeInbox(batch: MessageBatch<unknown>, env: Bindings, execution: ExecutionContext) {
  const ctx = await ctxForBatch("inbox", batch, env, execution);
  if (!ctx) return;
  let pending: { loaded: Loaded; writes: BatchItem<"sqlite">[] }[] = [];
  const flush = async (c: Ctx) => {
    if (pending.length === 0) return;
    const done = pending;
    pending = [];
    try {
      await c.db.batch(done.flatMap((p) => p.writes) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      for (const p of done) await finish(c, p.loaded);
      return;
    } catch (e) {
      const [only] = done;
      if (only && done.length === 1) return fail(c, only.loaded, e);
    }
    // One of them broke the combined write: write each alone, so only that one fails.
    for (const p of done) {
      try {
        await c.db.batch(p.writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
        await finish(c, p.loaded);
      } catch (e) {
        await fail(c, p.loaded, e);
      }
    }
  };
  for (const message of batch.messages) {
    let loaded: Loaded | null = null;
    try {
      loaded = await load(ctx, message);
      if (!loaded) continue;
      if (loaded.received.activity.type !== "Create") await flush(ctx);
      const writes: BatchItem<"sqlite">[] = [];
      await processActivity(ctx, loaded.received, (w) => writes.push(w));
      if (writes.length) pending.push({ loaded, writes });
      else await finish(ctx, loaded);
    } catch (e) {
      if (loaded) await fail(ctx, loaded, e);
      else await safely(() => message.retry({ delaySeconds: backoffSeconds(message.attempts) }));
    }
  }
  await flush(ctx);
}

/**
 * The message's activity, from the message itself or from R2. A message that does not fit the
 * contract, or whose payload is gone, can never succeed: it is kept as a dead letter at once.
 */
async function load(ctx: Ctx, message: Message): Promise<Loaded | null> {
  const parsed = InboxMessage.safeParse(message.body);
  if (!parsed.success) {
    await deadLetter(ctx, message, {
      target: String((message.body as { id?: unknown } | null)?.id ?? message.id),
      payload: safeJson(message.body),
      error: `MalformedMessage: ${parsed.error.issues[0]?.path.join(".") ?? ""} ${parsed.error.issues[0]?.message ?? ""}`,
    });
    return null;
  }
  const body = parsed.data;
  let activity = body.activity;
  if (!activity && body.payload) {
    const object = await ctx.env.MEDIA.get(body.payload);
    if (object) activity = (await object.json()) as Record<string, unknown>;
  }
  if (!activity || typeof activity !== "object") {
    await deadLetter(ctx, message, {
      target: body.id ?? message.id,
      payload: safeJson(body),
      error: body.payload ? `MissingPayload: ${body.payload} is not in R2` : "MalformedMessage: no activity",
    });
    return null;
  }
  const received: ReceivedActivity = {
    activity,
    signer: body.signer,
    proofVerified: body.proofVerified,
    receivedAt: body.receivedAt,
  };
  return { message, body, received };
}

/** Acks a handled message and drops its R2 payload. */
async function finish(ctx: Ctx, { message, body }: Loaded) {
  message.ack();
  if (body.payload) await ctx.env.MEDIA.delete(body.payload).catch(() => undefined);
}

/** Errors that no retry can cure. */
function isPermanent(e: unknown): boolean {
  return (
    e instanceof PermanentError ||
    e instanceof InvalidActorError ||
    e instanceof InvalidObjectError ||
    e instanceof FollowError ||
    (e instanceof RemoteFetchError && PERMANENT_FETCH.has(e.reason))
  );
}

/** Retries with back-off, or keeps a dead letter when it can never succeed or has used its attempts. */
async function fail(ctx: Ctx, loaded: Loaded, e: unknown) {
  const { message, received, body } = loaded;
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (!isPermanent(e) && message.attempts < INBOX_MAX_ATTEMPTS) {
    await safely(() => message.retry({ delaySeconds: backoffSeconds(message.attempts) }));
    return;
  }
  const id = String(received.activity.id);
  console.warn(`inbox: giving up on ${id}: ${error}`);
  if (await deadLetter(ctx, message, { target: id, payload: safeJson(received), error })) {
    if (body.payload) await ctx.env.MEDIA.delete(body.payload).catch(() => undefined);
  }
}

/**
 * Keeps a dead letter and acks the message, or (when even that cannot be written) leaves the message
 * to the queue's retries: a message is never acked without being handled or recorded.
 */
async function deadLetter(
  ctx: Ctx,
  message: Message,
  entry: { target: string; payload: string; error: string },
): Promise<boolean> {
  try {
    await keepDeadLetter(ctx, { kind: "inbox", attempts: message.attempts, ...entry });
    message.ack();
    return true;
  } catch (e) {
    console.error("inbox: could not keep a dead letter", e);
    await safely(() => message.retry({ delaySeconds: backoffSeconds(message.attempts) }));
    return false;
  }
}

async function safely(f: () => unknown) {
  try {
    await f();
  } catch (e) {
    console.error("inbox: could not retry a message", e);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch (e) {
    return `unserializable: ${e instanceof Error ? e.message : String(e)}`;
  }
}
