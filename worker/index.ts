import { createApp } from "./app";
import type { Bindings } from "./env";
import { consumeDelivery } from "./queues/delivery-consumer";
import { consumeInbox } from "./queues/inbox-consumer";
import type { DeliveryMessage, InboxMessage } from "./queues/messages";
import { upkeep } from "./queues/upkeep";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: Bindings, ctx: ExecutionContext) {
    if (batch.queue.startsWith("perch-inbox"))
      return consumeInbox(batch as MessageBatch<InboxMessage>, env, ctx);
    if (batch.queue.startsWith("perch-delivery"))
      return consumeDelivery(batch as MessageBatch<DeliveryMessage>, env, ctx);
    console.error(`message batch from unknown queue ${batch.queue}`);
    batch.retryAll();
  },
  async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext) {
    ctx.waitUntil(upkeep(env));
  },
} satisfies ExportedHandler<Bindings>;
