/**
 * One ZIP entry's bytes read in pieces that can stop and resume in a later invocation: a deflated
 * entry through the Inflater (deflate/inflater.ts), a stored one by plain ranged reads. The state
 * between pieces is an `EntryCheckpoint`: where the entry's data starts (so a resume skips the local
 * header), and the Inflater's checkpoint or, for a stored entry, the offset and CRC-32 so far.
 *
 * The entry is checked as it is read, as `openEntry` checks it: output past the recorded size fails at
 * once ("size_mismatch", which also stops a bomb), and at the end the size and the CRC-32 must match.
 */
import { concat } from "../bytes";
import { crc32 } from "../crc32";
import {
  decodeInflateCheckpoint,
  encodeInflateCheckpoint,
  type InflateCheckpoint,
} from "../deflate/checkpoint";
import { Inflater, MAX_PIECE, WINDOW, type ReadInput } from "../deflate/inflater";
import { ArchiveError, badCheckpoint } from "../errors";
import type { RandomAccessSource } from "../source";
import type { ZipEntry } from "./entries";
import { DEFAULT_MAX_ENTRY_SIZE, checkReadable, entryLabel, locateData } from "./entry-stream";
import { METHOD_DEFLATE } from "./format";

export interface EntryCheckpoint {
  /** Archive offset of the entry's data. */
  readonly dataStart: number;
  /** Output so far, and its CRC-32 (a deflated entry's are inside `inflate` too). */
  readonly offset: number;
  readonly crc: number;
  /** The Inflater's state, for a deflated entry. */
  readonly inflate: InflateCheckpoint | null;
}

export interface ResumableOptions {
  /** Refuse entries larger than this; default 1 GiB. */
  maxSize?: number;
  /** Bytes per ranged read; default 256 KiB. */
  rangeSize?: number;
}

const DEFAULT_RANGE = 256 * 1024;

export class ResumableEntry {
  private offset: number;
  private crc: number;
  private mark: { offset: number; crc: number };
  private range: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) };

  private constructor(
    private readonly source: RandomAccessSource,
    private readonly entry: ZipEntry,
    private readonly dataStart: number,
    private readonly inflater: Inflater | null,
    from: EntryCheckpoint | null,
    private readonly rangeSize: number,
  ) {
    this.offset = from?.offset ?? 0;
    this.crc = from?.crc ?? 0;
    this.mark = { offset: this.offset, crc: this.crc };
  }

  /**
   * The entry from its start, or from a checkpoint of the same entry. `dataLimit` is where entry data
   * must end (the central directory's offset; the source's size when that is not at hand).
   */
  static async open(
    source: RandomAccessSource,
    entry: ZipEntry,
    from: EntryCheckpoint | null,
    options: ResumableOptions & { dataLimit?: number } = {},
  ): Promise<ResumableEntry> {
    const label = entryLabel(entry);
    checkReadable(entry, options.maxSize ?? DEFAULT_MAX_ENTRY_SIZE);
    const rangeSize = options.rangeSize ?? DEFAULT_RANGE;
    const dataLimit = options.dataLimit ?? source.size;
    let dataStart: number;
    let head: Uint8Array = new Uint8Array(0);
    if (from) {
      dataStart = from.dataStart;
      const fits =
        dataStart > entry.localHeaderOffset &&
        dataStart + entry.compressedSize <= dataLimit &&
        from.offset <= entry.size &&
        (entry.method === METHOD_DEFLATE) === (from.inflate !== null) &&
        (from.inflate === null || from.inflate.total === from.offset);
      if (!fits) throw badCheckpoint(`it does not belong to ${label}`);
    } else {
      const located = await locateData(source, entry, dataLimit, rangeSize);
      dataStart = located.start;
      head = located.head;
    }
    let inflater: Inflater | null = null;
    if (entry.method === METHOD_DEFLATE) {
      // The first range of a fresh start came with the local header: serve it from there.
      const read: ReadInput = async (offset, length) => {
        if (offset >= head.length) return source.read(dataStart + offset, length);
        const have = head.subarray(offset, offset + length);
        if (have.length === length) return have;
        return concat([have, await source.read(dataStart + offset + have.length, length - have.length)]);
      };
      inflater = await Inflater.open(read, entry.compressedSize, from?.inflate ?? null, {
        // One piece past the recorded size is enough to tell it is wrong; `read` reports it.
        maxOutput: entry.size + MAX_PIECE + 258,
        rangeSize,
        label,
      });
    }
    return new ResumableEntry(source, entry, dataStart, inflater, from, rangeSize);
  }

  /** Bytes of the entry handed out so far. */
  get position(): number {
    return this.offset;
  }

  /** The next piece (about `size` bytes, a view valid until the next call), or null after the last. */
  async read(size = WINDOW): Promise<Uint8Array | null> {
    this.mark = { offset: this.offset, crc: this.crc };
    const label = entryLabel(this.entry);
    let piece: Uint8Array | null;
    if (this.inflater) {
      piece = await this.inflater.read(size);
      if (piece) this.crc = this.inflater.outputCrc;
    } else {
      piece = await this.storedPiece(size);
      if (piece) this.crc = crc32(piece, this.crc);
    }
    if (piece) {
      this.offset += piece.length;
      if (this.offset > this.entry.size) {
        throw new ArchiveError("size_mismatch", `${label}: more than the recorded ${this.entry.size} bytes`);
      }
      return piece;
    }
    if (this.offset !== this.entry.size) {
      throw new ArchiveError("size_mismatch", `${label}: ${this.offset} bytes, ${this.entry.size} recorded`);
    }
    if (this.crc !== this.entry.crc32)
      throw new ArchiveError("checksum", `${label}: CRC-32 differs from the recorded one`);
    return null;
  }

  /** A stored entry's next piece, from one ranged read per `rangeSize` bytes (a subrequest each). */
  private async storedPiece(size: number): Promise<Uint8Array | null> {
    const left = this.entry.size - this.offset;
    if (left <= 0) return null;
    let at = this.offset - this.range.start;
    if (at < 0 || at >= this.range.bytes.length) {
      this.range = {
        start: this.offset,
        bytes: await this.source.read(this.dataStart + this.offset, Math.min(left, this.rangeSize)),
      };
      at = 0;
    }
    return this.range.bytes.subarray(at, at + Math.min(size, MAX_PIECE));
  }

  /** The state after the last piece ("end") or before it ("start"); valid until the next `read`. */
  checkpoint(at: "start" | "end" = "end"): EntryCheckpoint {
    const m = at === "start" ? this.mark : { offset: this.offset, crc: this.crc };
    return {
      dataStart: this.dataStart,
      offset: m.offset,
      crc: m.crc,
      inflate: this.inflater ? this.inflater.checkpoint(at) : null,
    };
  }
}

const MAGIC = 0x31455a50; // "PZE1"
const HEADER = 28;

/** The checkpoint as bytes: a 28-byte header, then the Inflater's checkpoint (up to 33,120 bytes). */
export function encodeEntryCheckpoint(c: EntryCheckpoint): Uint8Array {
  const inflate = c.inflate ? encodeInflateCheckpoint(c.inflate) : new Uint8Array(0);
  const bytes = new Uint8Array(HEADER + inflate.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC, true);
  v.setFloat64(4, c.dataStart, true);
  v.setFloat64(12, c.offset, true);
  v.setUint32(20, c.crc >>> 0, true);
  v.setUint32(24, inflate.length, true);
  bytes.set(inflate, HEADER);
  return bytes;
}

export function decodeEntryCheckpoint(bytes: Uint8Array): EntryCheckpoint {
  if (bytes.length < HEADER) throw badCheckpoint("too short for a ZIP entry checkpoint");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw badCheckpoint("not a ZIP entry checkpoint (or another version)");
  const dataStart = v.getFloat64(4, true);
  const offset = v.getFloat64(12, true);
  const inflateLength = v.getUint32(24, true);
  if (![dataStart, offset].every((n) => Number.isSafeInteger(n) && n >= 0))
    throw badCheckpoint("bad offsets");
  if (bytes.length !== HEADER + inflateLength) throw badCheckpoint("wrong length");
  return {
    dataStart,
    offset,
    crc: v.getUint32(20, true),
    inflate: inflateLength ? decodeInflateCheckpoint(bytes.subarray(HEADER)) : null,
  };
}
