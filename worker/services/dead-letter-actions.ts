import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { deadLetters } from "../db/schema";
import { loadBody, queueDelivery } from "../queues/delivery-packs";
import { DeliveryMessage, deliveryInboxes, InboxMessage } from "../queues/messages";

export class DeadLetterError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 422,
  ) {
    super(message);
  }
}

/**
 * Sends a dead letter back to its queue, as a fresh message (a delivery gets its full number of
 * attempts and days again), then forgets it. The message is sent before the row goes, so a failure
 * in between can repeat a retry but never lose one; deliveries and the inbox are idempotent on the
 * receiving side.
 */
export async function retryDeadLetter(ctx: Ctx, id: string): Promise<void> {
  const row = (await ctx.db.select().from(deadLetters).where(eq(deadLetters.id, id)).limit(1))[0];
  if (!row) throw new DeadLetterError("No such dead letter", 404);
  let body: unknown;
  try {
    body = JSON.parse(row.payload);
  } catch {
    throw new DeadLetterError("This dead letter's payload is not JSON and cannot be sent again", 422);
  }
  const notMessage = () => new DeadLetterError("This dead letter's payload is not a queue message", 422);
  if (row.kind === "delivery") {
    const parsed = DeliveryMessage.safeParse(body);
    if (!parsed.success) throw notMessage();
    // Through the way every delivery goes (a body too large for a message of its own goes to R2).
    const activity = await loadBody(ctx.env, parsed.data);
    if (activity === null) {
      throw new DeadLetterError(
        "This delivery's activity is no longer stored, so it cannot be sent again",
        422,
      );
    }
    await queueDelivery(ctx.env, deliveryInboxes(parsed.data), activity, { signer: parsed.data.signer });
  } else {
    const parsed = InboxMessage.safeParse(body);
    if (!parsed.success) throw notMessage();
    await ctx.env.INBOX_QUEUE.send(parsed.data, { contentType: "json" });
  }
  await ctx.db.delete(deadLetters).where(eq(deadLetters.id, id));
}

/** Forgets a dead letter. False when there was none. */
export async function discardDeadLetter(ctx: Ctx, id: string): Promise<boolean> {
  const r = await ctx.db.delete(deadLetters).where(eq(deadLetters.id, id)).returning({ id: deadLetters.id });
  return r.length > 0;
}
