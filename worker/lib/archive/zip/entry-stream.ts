/**
 * One ZIP entry's bytes as a stream: the local header is read (and its name compared with the central
 * directory's), then the data in ~1 MB ranges, inflated when deflated, and checked against the central
 * directory's size and CRC-32 at the end (`verified`). The first range usually holds the whole of a
 * small entry, so a small media file costs one ranged read.
 *
 * Limits: methods 0 (stored) and 8 (deflate) only; no encryption.
 */
import { u16, u32 } from "../bytes";
import { corrupt, tooLarge, truncated, unsupported } from "../errors";
import { inflate } from "../inflate";
import type { RandomAccessSource } from "../source";
import { verified } from "../verify";
import type { ZipEntry } from "./entries";
import { FLAG_ENCRYPTED, FLAG_UTF8, LOCAL_SIZE, METHOD_DEFLATE, METHOD_STORED, SIG_LOCAL } from "./format";

export interface OpenOptions {
  /** Refuse entries that say (or turn out) to be larger than this; default 1 GiB. */
  maxSize?: number;
  /** Bytes per ranged read; default 1 MiB. */
  rangeSize?: number;
}

export const DEFAULT_MAX_ENTRY_SIZE = 1024 * 1024 * 1024;
const DEFAULT_RANGE = 1024 * 1024;

export function openEntry(
  source: RandomAccessSource,
  entry: ZipEntry,
  dataLimit: number,
  options: OpenOptions = {},
): ReadableStream<Uint8Array> {
  const label = entryLabel(entry);
  const rangeSize = options.rangeSize ?? DEFAULT_RANGE;
  checkReadable(entry, options.maxSize ?? DEFAULT_MAX_ENTRY_SIZE);

  let next = -1; // where the next read starts, once the header is known
  let remaining = -1; // compressed bytes still to read
  let first: Uint8Array | null = null;

  const pull = async (): Promise<Uint8Array | null> => {
    if (remaining < 0) {
      const data = await locateData(source, entry, dataLimit, rangeSize);
      first = data.head;
      next = data.start + data.head.length;
      remaining = entry.compressedSize - data.head.length;
    }
    if (first) {
      const chunk = first;
      first = null;
      if (chunk.length > 0) return chunk;
    }
    if (remaining === 0) return null;
    const length = Math.min(rangeSize, remaining);
    const chunk = await source.read(next, length);
    next += length;
    remaining -= length;
    return chunk;
  };

  const raw =
    entry.method === METHOD_DEFLATE
      ? inflate(pull, "deflate-raw", label)
      : new ReadableStream<Uint8Array>(
          {
            async pull(controller) {
              const chunk = await pull();
              if (chunk) controller.enqueue(chunk);
              else controller.close();
            },
          },
          { highWaterMark: 0 },
        );
  return raw.pipeThrough(verified({ size: entry.size, crc32: entry.crc32 }, label));
}

export const entryLabel = (entry: ZipEntry) => `ZIP entry ${JSON.stringify(entry.name)}`;

/** Fails unless the entry can be read: stored or deflated, not encrypted, within `maxSize`. */
export function checkReadable(entry: ZipEntry, maxSize: number): void {
  const label = entryLabel(entry);
  if (entry.flags & FLAG_ENCRYPTED) throw unsupported(`${label} is encrypted`);
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
    throw unsupported(`${label} uses compression method ${entry.method}`);
  }
  if (entry.size > maxSize) throw tooLarge(`${label} is ${entry.size} bytes, over the ${maxSize} allowed`);
  if (entry.method === METHOD_STORED && entry.compressedSize !== entry.size) {
    throw corrupt(`${label} is stored but its sizes differ`);
  }
}

/**
 * Reads the entry's local header (and compares its name with the central directory's): where its data
 * starts, and the data's first bytes, from the same ranged read (`rangeSize` bytes at most).
 */
export async function locateData(
  source: RandomAccessSource,
  entry: ZipEntry,
  dataLimit: number,
  rangeSize: number,
): Promise<{ start: number; head: Uint8Array }> {
  const label = entryLabel(entry);
  const at = entry.localHeaderOffset;
  const length = Math.min(dataLimit - at, Math.max(rangeSize, LOCAL_SIZE));
  if (length < LOCAL_SIZE) throw truncated(`${label} local header`);
  const head = await source.read(at, length);
  if (u32(head, 0) !== SIG_LOCAL) throw corrupt(`${label} has no local header at ${at}`);
  const nameLength = u16(head, 26);
  const start = at + LOCAL_SIZE + nameLength + u16(head, 28);
  if (start + entry.compressedSize > dataLimit) throw truncated(`${label} data`);
  if (LOCAL_SIZE + nameLength <= head.length) {
    const local = new TextDecoder().decode(head.subarray(LOCAL_SIZE, LOCAL_SIZE + nameLength));
    const comparable = (entry.flags & FLAG_UTF8) !== 0 || /^[\x00-\x7f]*$/.test(entry.name);
    if (comparable && local !== entry.name) {
      throw corrupt(`${label}: the local header names ${JSON.stringify(local)}`);
    }
  }
  const inHead = Math.max(0, Math.min(entry.compressedSize, at + head.length - start));
  return { start, head: head.subarray(start - at, start - at + inHead) };
}
