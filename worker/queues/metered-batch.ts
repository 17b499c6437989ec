import { countQueue, meter, queueOpsOfBody } from "../services/usage";

/** The queue a batch's messages belong to, for the owner's figures: "inbox", "delivery" or "import". */
function queueName(queue: string): { name: string; failedQueue: boolean } {
  const failedQueue = /-failed/.test(queue);
  const name = queue.includes("delivery")
    ? "delivery"
    : queue.includes("inbox")
      ? "inbox"
      : queue.includes("import")
        ? "import"
        : queue;
  return { name, failedQueue };
}

/**
 * A batch whose every message reports how it ended (services/usage.ts): acked is processed, a retry
 * counts as retried, and a message reaching a dead-letter queue counts as failed for its queue. Queue
 * operations as Queues bills them: reading a message (one per 64 KB), deleting it on ack, writing it
 * again on retry. A message the consumer neither acks nor retries is acked by the batch's success.
 */
export function meteredBatch<T>(batch: MessageBatch<T>): MessageBatch<T> {
  const { name, failedQueue } = queueName(batch.queue);
  const now = Date.now();
  let lag = 0;
  let reads = 0;
  for (const m of batch.messages) {
    lag = Math.max(lag, now - m.timestamp.getTime());
    reads += queueOpsOfBody(m.body);
  }
  meter({ queueOps: reads });
  countQueue(name, failedQueue ? { failed: batch.messages.length } : { maxLagMs: lag });
  const settled = new Set<string>();
  const ack = (m: Message<T>) => {
    if (settled.has(m.id)) return;
    settled.add(m.id);
    meter({ queueOps: 1 });
    if (!failedQueue) countQueue(name, { processed: 1 });
  };
  const retry = (m: Message<T>) => {
    if (settled.has(m.id)) return;
    settled.add(m.id);
    meter({ queueOps: 1 });
    if (!failedQueue) countQueue(name, { retried: 1 });
  };
  const messages = batch.messages.map(
    (m) =>
      ({
        id: m.id,
        timestamp: m.timestamp,
        body: m.body,
        attempts: m.attempts,
        ack: () => (ack(m), m.ack()),
        retry: (options?: QueueRetryOptions) => (retry(m), m.retry(options)),
      }) as Message<T>,
  );
  return {
    queue: batch.queue,
    metadata: batch.metadata,
    messages,
    ackAll: () => {
      for (const m of batch.messages) ack(m);
      batch.ackAll();
    },
    retryAll: (options?: QueueRetryOptions) => {
      for (const m of batch.messages) retry(m);
      batch.retryAll(options);
    },
  } as MessageBatch<T>;
}
