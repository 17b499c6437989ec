/**
 * An Inflater's state between two pieces, and its byte form for storing in D1 or R2: a 36-byte header,
 * the dynamic block's code lengths (up to 316 bytes) and the window (the last min(output, 32 KiB)
 * bytes), so at most 33,120 bytes. Decoding checks every field, since a checkpoint read back from
 * storage is input like any other: a malformed one fails with "bad_checkpoint", never a wrong resume.
 *
 * Layout (little-endian): "PIF1", u8 block kind, u8 final, u16 hlit, u16 hdist, u16 window length,
 * u32 CRC-32, f64 input bit position, f64 output count, u32 stored bytes left, lengths, window.
 */
import { badCheckpoint } from "../errors";

export type BlockKind = "header" | "stored" | "fixed" | "dynamic" | "done";

export interface InflateCheckpoint {
  /** Input bit position of the next block header or symbol. */
  readonly bit: number;
  /** "header": between blocks; "stored", "fixed", "dynamic": inside one; "done": after the final one. */
  readonly block: BlockKind;
  readonly final: boolean;
  readonly storedLeft: number;
  /** A dynamic block's code lengths: `hlit` literal/length ones, then the distance ones. */
  readonly lengths: Uint8Array | null;
  readonly hlit: number;
  /** Output bytes before this point, and their CRC-32. */
  readonly total: number;
  readonly crc: number;
  /** The last min(total, 32 KiB) bytes of output. */
  readonly window: Uint8Array;
}

const MAGIC = 0x31464950; // "PIF1"
const HEADER = 36;
const KINDS: readonly BlockKind[] = ["header", "stored", "fixed", "dynamic", "done"];
const WINDOW = 32 * 1024;

export function encodeInflateCheckpoint(c: InflateCheckpoint): Uint8Array {
  const lengths = c.block === "dynamic" && c.lengths ? c.lengths : new Uint8Array(0);
  const bytes = new Uint8Array(HEADER + lengths.length + c.window.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint8(4, KINDS.indexOf(c.block));
  v.setUint8(5, c.final ? 1 : 0);
  v.setUint16(6, lengths.length ? c.hlit : 0, true);
  v.setUint16(8, lengths.length ? lengths.length - c.hlit : 0, true);
  v.setUint16(10, c.window.length, true);
  v.setUint32(12, c.crc >>> 0, true);
  v.setFloat64(16, c.bit, true);
  v.setFloat64(24, c.total, true);
  v.setUint32(32, c.storedLeft, true);
  bytes.set(lengths, HEADER);
  bytes.set(c.window, HEADER + lengths.length);
  return bytes;
}

/** The checkpoint `encodeInflateCheckpoint` wrote; the window and lengths are copies. */
export function decodeInflateCheckpoint(bytes: Uint8Array): InflateCheckpoint {
  if (bytes.length < HEADER) throw badCheckpoint("too short for an inflate checkpoint");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw badCheckpoint("not an inflate checkpoint (or another version)");
  const block = KINDS[v.getUint8(4)];
  const final = v.getUint8(5);
  const hlit = v.getUint16(6, true);
  const hdist = v.getUint16(8, true);
  const windowLength = v.getUint16(10, true);
  const bit = v.getFloat64(16, true);
  const total = v.getFloat64(24, true);
  const storedLeft = v.getUint32(32, true);
  if (block === undefined || final > 1) throw badCheckpoint("bad block kind");
  if (!Number.isSafeInteger(bit) || bit < 0 || !Number.isSafeInteger(total) || total < 0) {
    throw badCheckpoint("bad position");
  }
  if (windowLength !== Math.min(total, WINDOW)) throw badCheckpoint("window does not match the output count");
  if (storedLeft > 0xffff || (block !== "stored" && storedLeft !== 0))
    throw badCheckpoint("bad stored length");
  const dynamic = block === "dynamic";
  if (dynamic ? hlit < 257 || hlit > 286 || hdist < 1 || hdist > 30 : hlit !== 0 || hdist !== 0) {
    throw badCheckpoint("bad code length counts");
  }
  if (bytes.length !== HEADER + hlit + hdist + windowLength) throw badCheckpoint("wrong length");
  const lengths = dynamic ? bytes.slice(HEADER, HEADER + hlit + hdist) : null;
  if (lengths?.some((l) => l > 15)) throw badCheckpoint("bad code length");
  return {
    bit,
    block,
    final: final === 1,
    storedLeft,
    lengths,
    hlit,
    total,
    crc: v.getUint32(12, true),
    window: bytes.slice(HEADER + hlit + hdist),
  };
}
