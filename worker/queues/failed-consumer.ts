import type { Ctx } from "../context";
import type { Bindings } from "../env";
import { ctxForBatch } from "./ctx";
import { keepDeadLetters, type DeadLetter } from "./dead-letters";
import { loadBody } from "./delivery-packs";
import { DeliveryMessage, deliveryInboxes } from "./messages";

const CRASHED = "ConsumerFailure: the consumer crashed or timed out on every attempt";

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
    const body = message.body as { id?: unknown } | null;
    const target = String(body?.id ?? message.id);
    try {
      const letters =
        kind === "delivery"
          ? await deliveryLetters(ctx, message)
          : [
              {
                kind,
                target,
                payload: JSON.stringify(message.body) ?? "null",
                error: CRASHED,
                attempts: message.attempts,
              },
            ];
      await keepDeadLetters(ctx, letters);
      message.ack();
    } catch (e) {
      console.error(`dead-letter queue: could not record ${target}`, e);
      message.retry({ delaySeconds: 60 });
    }
  }
}

/**
 * A delivery message as dead letters: one per inbox, each holding the message of today's first shape
 * for that inbox alone (with its activity, even one that was kept in R2), so that retrying one inbox
 * sends to nobody else. A message that does not fit the contract is kept as it is.
 */
async function deliveryLetters(ctx: Ctx, message: Message): Promise<DeadLetter[]> {
  const parsed = DeliveryMessage.safeParse(message.body);
  if (!parsed.success) {
    const raw = message.body as { inbox?: unknown } | null;
    const target = String(raw?.inbox ?? message.id);
    return [
      {
        kind: "delivery",
        target,
        payload: JSON.stringify(message.body) ?? "null",
        error: CRASHED,
        attempts: message.attempts,
      },
    ];
  }
  const { inbox: _inbox, inboxes: _inboxes, payload, body, ...rest } = parsed.data;
  const activity = body ?? (await loadBody(ctx.env, parsed.data)) ?? undefined;
  return deliveryInboxes(parsed.data).map((inbox) => ({
    kind: "delivery",
    target: inbox,
    payload: JSON.stringify(
      activity === undefined ? { inbox, payload, ...rest } : { inbox, body: activity, ...rest },
    ),
    error: CRASHED,
    attempts: (rest.spent ?? 0) + message.attempts,
  }));
}

type Message = MessageBatch<unknown>["messages"][number];
