/**
 * Random access to an archive's bytes: what the ZIP reader reads through. An R2 object implements it
 * with ranged gets (one subrequest per read, so readers ask for large ranges, ~1 MB); tests implement it
 * over a Uint8Array. `read` must return exactly `length` bytes or fail.
 */
import { ArchiveError } from "./errors";

export interface RandomAccessSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes in memory (tests, small archives). */
export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  return {
    size: bytes.length,
    read: async (offset, length) => {
      checkRange(offset, length, bytes.length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/**
 * A source over an R2 object; `size` comes from a head() made here, or from the caller when it knows
 * it already (an import job records its archive's size, checked when the upload completed), which
 * saves that subrequest.
 */
export async function r2Source(
  bucket: R2Bucket,
  key: string,
  knownSize?: number,
): Promise<RandomAccessSource> {
  let found = knownSize;
  if (found === undefined) {
    const head = await bucket.head(key);
    if (!head) throw new ArchiveError("source", `no object ${key}`);
    found = head.size;
  }
  const size = found;
  return {
    size,
    read: async (offset, length) => {
      checkRange(offset, length, size);
      if (length === 0) return new Uint8Array(0);
      const object = await bucket.get(key, { range: { offset, length } });
      if (!object) throw new ArchiveError("source", `object ${key} disappeared while reading it`);
      const bytes = new Uint8Array(await object.arrayBuffer());
      if (bytes.length !== length) {
        throw new ArchiveError("source", `short read of ${key}: ${bytes.length} of ${length} bytes`);
      }
      return bytes;
    },
  };
}

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ArchiveError("source", `bad range ${offset}+${length}`);
  }
  if (offset + length > size) {
    throw new ArchiveError("truncated", `range ${offset}+${length} is past the end (${size} bytes)`);
  }
}
