/**
 * Inflating (raw deflate or gzip) through the platform's DecompressionStream in bounded memory.
 *
 * workerd's DecompressionStream applies no backpressure: a write resolves at once and its whole output
 * is queued on the readable side whether anyone reads it or not (measured: five 4 KB writes of a
 * deflated run of zeros all resolve with nothing reading). Piping a source into it would inflate a
 * zip bomb entirely into memory. So the input is fed by hand, one slice of at most 16 KB at a time, and
 * only when the output queue is empty: when a read stays unanswered for a whole timer tick (queued
 * output answers a read within one turn of the event loop). What is held at once is then one slice's
 * output, at most ~16.5 MB (deflate's ceiling is ~1032:1); callers cap totals by counting what comes out.
 * One timer is shared by many reads, since a timer per read would cost more than the inflating.
 *
 * Limits: gzip input must be one member (workerd refuses bytes after it as "trailing bytes").
 */
import { ArchiveError, corrupt, truncated } from "./errors";

/** Returns the next chunk of compressed input, or null at its end. */
export type ChunkPull = () => Promise<Uint8Array | null>;

const SLICE = 16 * 1024;
const STARVED = Symbol("starved");

export function inflate(
  input: ChunkPull,
  format: "deflate-raw" | "gzip",
  label: string,
): ReadableStream<Uint8Array> {
  const ds = new DecompressionStream(format);
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  let carry: Uint8Array = new Uint8Array(0);
  let inputDone = false;
  let failure: unknown = null;

  const fail = (e: unknown): ArchiveError => {
    if (e instanceof ArchiveError) return e;
    const message = e instanceof Error ? e.message : String(e);
    if (/incomplete data|unexpected end/i.test(message)) return truncated(`${label}: compressed data`);
    return corrupt(`${label}: cannot inflate (${message})`);
  };

  async function feed(): Promise<void> {
    if (carry.length === 0) {
      const next = await input();
      if (next === null) {
        inputDone = true;
        writer.close().catch((e: unknown) => (failure ??= e));
        return;
      }
      carry = next;
    }
    const slice = carry.subarray(0, SLICE);
    carry = carry.subarray(slice.length);
    writer.write(slice).catch((e: unknown) => (failure ??= e));
  }

  const newTick = () => new Promise<typeof STARVED>((r) => setTimeout(() => r(STARVED), 0));
  let sharedTick: Promise<typeof STARVED> | null = null;

  async function settledOrStarved(): Promise<ReadableStreamReadResult<Uint8Array> | typeof STARVED> {
    const read = (pending ??= reader.read());
    if (inputDone) return read;
    sharedTick ??= newTick().then((v) => ((sharedTick = null), v));
    if ((await Promise.race([read, sharedTick])) !== STARVED) return read;
    // The shared tick may have been armed before this read began: confirm with a fresh one.
    return Promise.race([read, newTick()]);
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const r = await settledOrStarved();
            if (failure !== null) throw failure;
            if (r === STARVED) {
              await feed();
              continue;
            }
            pending = null;
            if (r.done) controller.close();
            else controller.enqueue(r.value);
            return;
          }
        } catch (e) {
          throw fail(e);
        }
      },
      async cancel(reason) {
        await Promise.allSettled([reader.cancel(reason), writer.abort(reason)]);
      },
    },
    { highWaterMark: 0 },
  );
}
