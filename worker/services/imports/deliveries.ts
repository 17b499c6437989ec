/**
 * The activities an import row makes (a Follow, a Block, an Undo) sent from the chunk itself instead
 * of a delivery message each: a delivery message costs 3 Queue operations, and following 2,000
 * accounts one message per Follow would spend 6,000 of the Free plan's 10,000 a day. The row's work
 * runs with a Ctx whose delivery queue holds what it queues; each held delivery is then sent at once
 * through the delivery path's own send (signature, SSRF check, the host's breaker), and only what
 * that does not deliver goes to the delivery queue after all, to be retried there as any delivery.
 */
import type { Ctx } from "../../context";
import { sendAll } from "../../queues/delivery-packs";
import { deliverOne } from "../../queues/delivery-send";
import { deliveryInboxes, type DeliveryMessage } from "../../queues/messages";

export interface HeldDeliveries {
  /** The Ctx to run the row's work with. */
  ctx: Ctx;
  /** Sends what was held; returns how many POSTs it made. */
  send(): Promise<number>;
}

export function holdDeliveries(ctx: Ctx): HeldDeliveries {
  let held: MessageSendRequest<DeliveryMessage>[] = [];
  const queue = {
    send: async (body: DeliveryMessage) => void held.push({ body }),
    sendBatch: async (messages: Iterable<MessageSendRequest<DeliveryMessage>>) => void held.push(...messages),
  } as unknown as Queue<DeliveryMessage>;
  const holding: Ctx = { ...ctx, env: { ...ctx.env, DELIVERY_QUEUE: queue } };
  return {
    ctx: holding,
    async send() {
      const messages = held;
      held = [];
      let posts = 0;
      const later: MessageSendRequest<DeliveryMessage>[] = [];
      for (const m of messages) {
        // A body kept in R2 (far larger than any activity a row makes) takes the ordinary way.
        if (m.body.body === undefined) {
          later.push(m);
          continue;
        }
        for (const inbox of deliveryInboxes(m.body)) {
          posts++;
          const outcome = await deliverOne(ctx, { inbox, body: m.body.body, signer: m.body.signer });
          if (outcome.kind === "delivered") continue;
          // As the delivery consumer passes on a failed inbox: one message each, the attempt counted
          // unless the breaker held it back.
          const { inboxes: _packed, ...rest } = m.body;
          const spent = (m.body.spent ?? 0) + (outcome.kind === "held" ? 0 : 1);
          const delaySeconds = "delaySeconds" in outcome && outcome.delaySeconds ? outcome.delaySeconds : 30;
          later.push({ body: { ...rest, inbox, spent }, delaySeconds });
        }
      }
      if (later.length > 0) await sendAll(ctx.env.DELIVERY_QUEUE, later);
      return posts;
    },
  };
}
