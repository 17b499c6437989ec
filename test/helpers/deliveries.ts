import { deliveryInboxes, type DeliveryMessage } from "../../worker/queues/messages";

/**
 * What the calls of a spy on DELIVERY_QUEUE.sendBatch queued, one entry per inbox: a message may
 * carry a pack of inboxes (queues/delivery-packs.ts). Bodies are inline (the tests' activities are
 * far below the size that moves a body to R2).
 */
export function queuedDeliveries(calls: unknown[][]): { inbox: string; activity: Record<string, any> }[] {
  return calls.flatMap((c) =>
    [...(c[0] as Iterable<{ body: DeliveryMessage }>)].flatMap((m) =>
      deliveryInboxes(m.body).map((inbox) => ({
        inbox,
        activity: JSON.parse(m.body.body ?? "null") as Record<string, any>,
      })),
    ),
  );
}
