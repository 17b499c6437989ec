import type { Bindings } from "../env";
import { ctxForBatch } from "./ctx";
import { keepDeadLetter } from "./dead-letters";

/**
 * The dead-letter queues of the inbox and delivery queues (wrangler.toml `dead_letter_queue`). A
 * message lands there only when its consumer never acked nor retried it on any attempt: the
 * invocation threw, ran out of CPU or memory, or was cut off. Each is kept as a dead letter the owner
 * can see and retry, so even a message that crashes its consumer is not lost.
 */
export async function consumeFailed(
  batch: MessageBatch<unknown>,
  env: Bindings,
  kind: "inbox" | "delivery",
): Promise<void> {
  const ctx = await ctxForBatch(`${kind} dead letters`, batch, env);
  if (!ctx) return;
  for (const message of batch.messages) {
    const body = message.body as { id?: unknown; inbox?: unknown } | null;
    const target = String((kind === "inbox" ? body?.id : body?.inbox) ?? message.id);
    try {
      await keepDeadLetter(ctx, {
        kind,
        target,
        payload: JSON.stringify(message.body) ?? "null",
        error: "ConsumerFailure: the consumer crashed or timed out on every attempt",
        attempts: message.attempts,
      });
      message.ack();
    } catch (e) {
      console.error(`dead-letter queue: could not record ${target}`, e);
      message.retry({ delaySeconds: 60 });
    }
  }
}
