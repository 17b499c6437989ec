/**
 * Where the ZIP writer's bytes go: a `ByteSink`. Adapters for a WritableStream and for an R2
 * multipart upload, whose parts must all be the same size, at least 5 MiB, except the last one
 * (https://developers.cloudflare.com/r2/objects/multipart-objects/). `partSink` batches any writes
 * into such parts, holding one part (default 8 MiB) in memory.
 */
import { ArchiveError } from "./errors";

export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export function writableSink(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  return { write: (chunk) => writer.write(chunk), close: () => writer.close() };
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Batches writes into parts of exactly `partSize` bytes (the last may be shorter, or empty if alone). */
export function partSink(
  uploadPart: (partNumber: number, bytes: Uint8Array) => Promise<void>,
  partSize = 8 * 1024 * 1024,
): ByteSink {
  if (partSize < MIN_PART_SIZE)
    throw new ArchiveError("unsupported", `parts must be at least ${MIN_PART_SIZE} bytes`);
  let part = new Uint8Array(partSize);
  let filled = 0;
  let partNumber = 1;
  return {
    async write(chunk) {
      let at = 0;
      while (at < chunk.length) {
        const take = Math.min(chunk.length - at, partSize - filled);
        part.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === partSize) {
          await uploadPart(partNumber++, part);
          part = new Uint8Array(partSize);
          filled = 0;
        }
      }
    },
    async close() {
      if (filled > 0 || partNumber === 1) await uploadPart(partNumber++, part.slice(0, filled));
    },
  };
}

/** A sink into an R2 multipart upload; `complete()` after the writer has finished. */
export function r2MultipartSink(upload: R2MultipartUpload, partSize?: number) {
  const parts: R2UploadedPart[] = [];
  const sink = partSink(async (n, bytes) => {
    parts.push(await upload.uploadPart(n, bytes));
  }, partSize);
  return { ...sink, parts, complete: () => upload.complete(parts), abort: () => upload.abort() };
}
