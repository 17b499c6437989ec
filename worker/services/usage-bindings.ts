import type { Bindings } from "../env";
import { countQueue, meter, queueOpsOfBody } from "./usage";

/**
 * The bindings as services see them (ctx.env), with R2 and Queue calls metered (services/usage.ts).
 * Each wrapper calls the binding's method at call time, so a test spying on the binding still sees
 * every call. Made once per bindings object.
 */
const wrapped = new WeakMap<Bindings, Bindings>();

export function meteredBindings(env: Bindings): Bindings {
  let out = wrapped.get(env);
  if (!out) {
    out = {
      ...env,
      MEDIA: meterR2(env.MEDIA),
      INBOX_QUEUE: meterQueue(env.INBOX_QUEUE, "inbox"),
      DELIVERY_QUEUE: meterQueue(env.DELIVERY_QUEUE, "delivery"),
      IMPORT_QUEUE: meterQueue(env.IMPORT_QUEUE, "import"),
    };
    wrapped.set(env, out);
  }
  return out;
}

/** R2's class A operations (writes, lists, multipart) and class B (reads), as R2 bills them. */
function meterR2(bucket: R2Bucket): R2Bucket {
  const a = () => meter({ subrequests: 1, r2ClassA: 1 });
  const b = () => meter({ subrequests: 1, r2ClassB: 1 });
  return {
    head: (...args: Parameters<R2Bucket["head"]>) => (b(), bucket.head(...args)),
    get: ((...args: Parameters<R2Bucket["get"]>) => (b(), bucket.get(...args))) as R2Bucket["get"],
    put: ((...args: Parameters<R2Bucket["put"]>) => (a(), bucket.put(...args))) as R2Bucket["put"],
    // Deletes are free on R2, but still a subrequest.
    delete: (...args: Parameters<R2Bucket["delete"]>) => (meter({ subrequests: 1 }), bucket.delete(...args)),
    list: (...args: Parameters<R2Bucket["list"]>) => (a(), bucket.list(...args)),
    createMultipartUpload: (...args: Parameters<R2Bucket["createMultipartUpload"]>) => (
      a(),
      bucket.createMultipartUpload(...args)
    ),
    resumeMultipartUpload: (...args: Parameters<R2Bucket["resumeMultipartUpload"]>) =>
      bucket.resumeMultipartUpload(...args),
  } as R2Bucket;
}

/** A producer: each message sent is counted for its queue, with its write operations. */
function meterQueue<T>(queue: Queue<T>, name: string): Queue<T> {
  return {
    send: (body: T, options?: QueueSendOptions) => {
      meter({ subrequests: 1, queueOps: queueOpsOfBody(body) });
      countQueue(name, { sent: 1 });
      return queue.send(body, options);
    },
    sendBatch: (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      meter({ subrequests: 1, queueOps: list.reduce((n, m) => n + queueOpsOfBody(m.body), 0) });
      countQueue(name, { sent: list.length });
      return queue.sendBatch(list, options);
    },
  } as Queue<T>;
}
