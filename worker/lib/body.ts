import { payloadTooLarge } from "./errors";

export const MAX_INBOX_BODY = 1_048_576;

/**
 * Reads a request body once, refusing (413) anything over `max` bytes: first by Content-Length, then
 * while streaming, so a missing or lying Content-Length does not help.
 */
export async function readBodyCapped(request: Request, max: number): Promise<ArrayBuffer> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) throw payloadTooLarge(`Body is larger than ${max} bytes`);
  if (!request.body) return new ArrayBuffer(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw payloadTooLarge(`Body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out.buffer;
}
