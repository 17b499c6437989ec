import { payloadTooLarge } from "./errors";

export const MAX_INBOX_BODY = 1_048_576;

/**
 * Reads a stream to its end, or stops (and cancels it) as soon as it passes `max` bytes: then the
 * answer is null. Sizes are counted as bytes arrive, so a missing or lying Content-Length does not help.
 */
export async function readStreamCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Reads a request body once, refusing (413) anything over `max` bytes. */
export async function readBodyCapped(request: Request, max: number): Promise<ArrayBuffer> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) throw payloadTooLarge(`Body is larger than ${max} bytes`);
  if (!request.body) return new ArrayBuffer(0);
  const body = await readStreamCapped(request.body, max);
  if (!body) throw payloadTooLarge(`Body is larger than ${max} bytes`);
  return body.buffer as ArrayBuffer;
}
