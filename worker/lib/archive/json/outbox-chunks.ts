/**
 * Importing a ZIP archive's `outbox.json` a chunk at a time, so each invocation fits the Free plan's
 * ~10 ms of CPU and any of them may crash or be redeployed: `readOutboxChunk` reads up to `maxItems`
 * items (or about `maxOutputBytes` of inflated JSON) from where the last chunk stopped, and returns
 * them with a checkpoint for the next call. Nothing before the checkpoint is inflated or scanned again.
 *
 * The checkpoint is bytes to keep in D1 or R2 (about 33 KB: mostly the inflate window): the entry it
 * belongs to, the inflate state at the start of the piece the next item is in, how many bytes of that
 * piece to skip, and the JSON parser's state there (scanner, item count, fields seen so far). The same
 * checkpoint always gives the same chunk, so an importer that loses a chunk's result (a crash before
 * its write committed) runs it again; items carry their index, so writing them is idempotent by index.
 *
 *   let checkpoint = job.checkpoint;  // null at first
 *   const chunk = await readOutboxChunk(source, entry, checkpoint, { maxItems: 20, maxOutputBytes: 256 * 1024 });
 *   await store(chunk.items);  // then save chunk.checkpoint, with the items or after them
 */
import { z } from "zod";
import { ArchiveError, badCheckpoint, tooLarge } from "../errors";
import type { RandomAccessSource } from "../source";
import type { ZipEntry } from "../zip/entries";
import {
  ResumableEntry,
  decodeEntryCheckpoint,
  encodeEntryCheckpoint,
  type EntryCheckpoint,
} from "../zip/resumable-entry";
import { OutboxParser, OutboxParserState, type OutboxItem, type OutboxOptions } from "./outbox-parser";

export interface OutboxChunkOptions extends Omit<OutboxOptions, "startAt"> {
  /** Stop after this many items. */
  maxItems: number;
  /** Stop after the first item that ends once this many bytes were inflated (so at least one item). */
  maxOutputBytes: number;
  /** Inflated bytes per piece; a resume re-inflates half of one on average. Default 16 KiB. */
  pieceSize?: number;
  /** Compressed bytes per ranged read; default 256 KiB. */
  rangeSize?: number;
  /** Refuse an outbox.json larger than this; default 1 GiB. */
  maxSize?: number;
  /** Where entry data must end: the central directory's offset (default: the source's size). */
  dataLimit?: number;
  /**
   * When the document turns out malformed (or its entry fails its checks) after this call read some
   * items, return those items with a checkpoint after the last of them instead of failing: the next
   * call then fails at once at the broken place. Without it, such a call fails and its items are lost.
   */
  itemsBeforeError?: boolean;
}

export interface OutboxChunk {
  items: OutboxItem[];
  /** For the next call; when `done`, the next call returns no items and `done` again. */
  checkpoint: Uint8Array;
  /** The document has ended, its size and CRC-32 are checked, and `fields` is complete. */
  done: boolean;
  /** Top-level members other than orderedItems seen so far. */
  fields: Record<string, unknown>;
  /** Bytes inflated by this call, those re-inflated to reach the checkpoint included. */
  inflatedBytes: number;
}

/** What identifies the entry a checkpoint was taken in. */
const EntryIdentity = z.object({
  name: z.string(),
  crc32: z.number(),
  size: z.number(),
  compressedSize: z.number(),
  localHeaderOffset: z.number(),
});

const Saved = z.object({
  entry: EntryIdentity,
  skip: z.number().int().nonnegative(),
  parser: OutboxParserState,
});

const MAGIC = 0x3143_4f50; // "POC1"
const MAX_STATE_JSON = 64 * 1024;

export async function readOutboxChunk(
  source: RandomAccessSource,
  entry: ZipEntry,
  checkpoint: Uint8Array | null,
  options: OutboxChunkOptions,
): Promise<OutboxChunk> {
  if (!(options.maxItems >= 1) || !(options.maxOutputBytes > 0)) {
    throw new RangeError("readOutboxChunk: maxItems and maxOutputBytes must be positive");
  }
  if (!options.itemsBeforeError) return readChunk(source, entry, checkpoint, options);
  let read = 0;
  try {
    return await readChunk(source, entry, checkpoint, options, () => void read++);
  } catch (e) {
    // A source failure may pass on a retry; a bad checkpoint is no place to resume at.
    if (read === 0 || !(e instanceof ArchiveError) || e.kind === "source" || e.kind === "bad_checkpoint") {
      throw e;
    }
    // The same checkpoint gives the same items, so reading `read` of them again stops just after the
    // last good one (neither limit was reached before it, or the first call would have returned).
    return readChunk(source, entry, checkpoint, { ...options, maxItems: read });
  }
}

async function readChunk(
  source: RandomAccessSource,
  entry: ZipEntry,
  checkpoint: Uint8Array | null,
  options: OutboxChunkOptions,
  onItem?: () => void,
): Promise<OutboxChunk> {
  const saved = checkpoint ? decodeOutboxCheckpoint(checkpoint, entry) : null;
  const reader = await ResumableEntry.open(source, entry, saved?.entry ?? null, options);
  const parser = new OutboxParser(options);
  if (saved) parser.restore(saved.parser);
  const pieceSize = options.pieceSize ?? 16 * 1024;
  let skip = saved?.skip ?? 0;
  let inflatedBytes = 0;
  const items: OutboxItem[] = [];

  for (;;) {
    const piece = await reader.read(pieceSize);
    if (!piece) {
      parser.finish();
      return {
        items,
        checkpoint: encodeOutboxCheckpoint(entry, reader.checkpoint("end"), 0, parser.state(0)),
        done: true,
        fields: parser.fields,
        inflatedBytes,
      };
    }
    inflatedBytes += piece.length;
    const skipped = Math.min(skip, piece.length);
    skip -= skipped;
    const chunk = piece.subarray(skipped);
    let at = 0;
    while (at < chunk.length) {
      at = parser.scan(chunk, at);
      const item = parser.take();
      if (!item) continue;
      items.push(item);
      onItem?.();
      if (items.length >= options.maxItems || inflatedBytes >= options.maxOutputBytes) {
        return {
          items,
          checkpoint: encodeOutboxCheckpoint(
            entry,
            reader.checkpoint("start"),
            skipped + at,
            parser.state(at),
          ),
          done: false,
          fields: parser.fields,
          inflatedBytes,
        };
      }
    }
    if (chunk.length > 0) parser.endChunk();
  }
}

function encodeOutboxCheckpoint(
  entry: ZipEntry,
  at: EntryCheckpoint,
  skip: number,
  parser: OutboxParserState,
): Uint8Array {
  const { name, crc32, size, compressedSize, localHeaderOffset } = entry;
  const state = new TextEncoder().encode(
    JSON.stringify({ entry: { name, crc32, size, compressedSize, localHeaderOffset }, skip, parser }),
  );
  if (state.length > MAX_STATE_JSON) {
    throw tooLarge(`outbox checkpoint: its top-level members take over ${MAX_STATE_JSON} bytes`);
  }
  const inflate = encodeEntryCheckpoint(at);
  const bytes = new Uint8Array(8 + state.length + inflate.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, state.length, true);
  bytes.set(state, 8);
  bytes.set(inflate, 8 + state.length);
  return bytes;
}

function decodeOutboxCheckpoint(
  bytes: Uint8Array,
  entry: ZipEntry,
): { entry: EntryCheckpoint; skip: number; parser: OutboxParserState } {
  if (bytes.length < 8) throw badCheckpoint("too short for an outbox checkpoint");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = v.getUint32(4, true);
  if (v.getUint32(0, true) !== MAGIC || 8 + length > bytes.length) {
    throw badCheckpoint("not an outbox checkpoint (or another version)");
  }
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + length)),
    );
  } catch {
    throw badCheckpoint("outbox checkpoint state is not JSON");
  }
  const parsed = Saved.safeParse(json);
  if (!parsed.success) throw badCheckpoint("bad outbox checkpoint state");
  const id = parsed.data.entry;
  if (
    id.name !== entry.name ||
    id.crc32 !== entry.crc32 ||
    id.size !== entry.size ||
    id.compressedSize !== entry.compressedSize ||
    id.localHeaderOffset !== entry.localHeaderOffset
  ) {
    throw badCheckpoint(`it was taken in another entry than ${JSON.stringify(entry.name)}`);
  }
  const at = decodeEntryCheckpoint(bytes.subarray(8 + length));
  if (at.offset + parsed.data.skip !== parsed.data.parser.scanner.offset) {
    throw badCheckpoint("outbox checkpoint offsets disagree");
  }
  return { entry: at, skip: parsed.data.skip, parser: parsed.data.parser };
}
