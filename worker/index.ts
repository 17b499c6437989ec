import { createApp } from "./app";
import type { Bindings } from "./env";
import { consumeDelivery } from "./queues/delivery-consumer";
import { consumeFailed } from "./queues/failed-consumer";
import { consumeImport } from "./queues/import-consumer";
import { consumeInbox } from "./queues/inbox-consumer";
import { upkeep } from "./queues/upkeep";
import { meteredBatch } from "./queues/metered-batch";
import { installFetchMeter, meterInvocation } from "./services/usage";

const app = createApp();
installFetchMeter();

type Consumer = (batch: MessageBatch<unknown>, env: Bindings, ctx: ExecutionContext) => Promise<void>;

/** The queues this Worker consumes (wrangler.toml), by name; `wrangler dev --env` may suffix them. */
const consumers: [string, Consumer][] = [
  ["perch-inbox-failed", (batch, env) => consumeFailed(batch, env, "inbox")],
  ["perch-delivery-failed", (batch, env) => consumeFailed(batch, env, "delivery")],
  ["perch-inbox", consumeInbox],
  ["perch-delivery", consumeDelivery],
  ["perch-import", consumeImport],
];

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: Bindings, ctx: ExecutionContext) {
    const consumer = consumers.find(([name]) => batch.queue.startsWith(name))?.[1];
    if (!consumer) {
      console.error(`message batch from unknown queue ${batch.queue}`);
      batch.retryAll();
      return;
    }
    await meterInvocation(
      env,
      "queue",
      (p) => ctx.waitUntil(p),
      () => consumer(meteredBatch(batch), env, ctx),
    );
  },
  async scheduled(controller: ScheduledController, env: Bindings, ctx: ExecutionContext) {
    ctx.waitUntil(
      meterInvocation(
        env,
        "cron",
        (p) => ctx.waitUntil(p),
        () => upkeep(env, new Date(controller.scheduledTime)),
      ),
    );
  },
} satisfies ExportedHandler<Bindings>;
