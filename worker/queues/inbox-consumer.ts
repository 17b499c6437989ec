import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import type { Bindings } from "../env";
import { processActivity, PermanentError } from "../federation/inbox";
import { RemoteFetchError } from "../lib/remote-fetch";
import { InvalidActorError } from "../services/accounts";
import { InvalidObjectError } from "../services/remote-statuses";
import { backoffSeconds, ctxFromEnv } from "./ctx";
import { keepDeadLetter } from "./dead-letters";
import type { InboxMessage } from "./messages";

/** Attempts before an incoming activity goes to the dead letters (wrangler.toml max_retries agrees). */
export const INBOX_MAX_ATTEMPTS = 5;

const PERMANENT_FETCH = new Set([
  "not_found",
  "gone",
  "id_mismatch",
  "bad_content_type",
  "bad_json",
  "too_large",
]);

type Message = MessageBatch<InboxMessage>["messages"][number];

/**
 * Processes a batch in order. Creates defer their INSERT, and consecutive ones are written as one D1
 * batch (one round trip instead of one per post); any other activity first flushes what is pending,
 * so a Delete or Update never overtakes the Create it refers to.
 */
export async function consumeInbox(
  batch: MessageBatch<InboxMessage>,
  env: Bindings,
  execution: ExecutionContext,
) {
  const ctx = await ctxFromEnv(env, execution);
  if (!ctx) return batch.retryAll({ delaySeconds: 30 });
  let pending: { message: Message; writes: BatchItem<"sqlite">[] }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const done = pending;
    pending = [];
    const writes = done.flatMap((p) => p.writes);
    try {
      await ctx.db.batch(writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      for (const p of done) p.message.ack();
    } catch (e) {
      for (const p of done) await fail(ctx, p.message, e);
    }
  };
  for (const message of batch.messages) {
    if (message.body.activity.type !== "Create") await flush();
    const writes: BatchItem<"sqlite">[] = [];
    try {
      await processActivity(ctx, message.body, (w) => writes.push(w));
      if (writes.length) pending.push({ message, writes });
      else message.ack();
    } catch (e) {
      await fail(ctx, message, e);
    }
  }
  await flush();
}

/** Retries with back-off, or keeps a dead letter when it can never succeed or has used its attempts. */
async function fail(ctx: Ctx, message: Message, e: unknown) {
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const permanent =
    e instanceof PermanentError ||
    e instanceof InvalidActorError ||
    e instanceof InvalidObjectError ||
    (e instanceof RemoteFetchError && PERMANENT_FETCH.has(e.reason));
  if (!permanent && message.attempts < INBOX_MAX_ATTEMPTS) {
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  console.warn(`inbox: giving up on ${String(message.body.activity.id)}: ${error}`);
  await keepDeadLetter(ctx, {
    kind: "inbox",
    target: String(message.body.activity.id),
    payload: JSON.stringify(message.body),
    error,
    attempts: message.attempts,
  });
  message.ack();
}
