/**
 * A gzip file (RFC 1952) read over random access in pieces that can stop and resume: the header is
 * parsed (FEXTRA, FNAME, FCOMMENT skipped, FHCRC checked), the deflate data goes through the Inflater,
 * and at the end the trailer's CRC-32 and ISIZE must match the output. The state between pieces is a
 * `GzipCheckpoint`: where the deflate data starts, and the Inflater's checkpoint.
 *
 * Limits: one member (what tar.gz exports are); bytes after its trailer fail as "unsupported".
 * https://www.rfc-editor.org/rfc/rfc1952
 */
import { u16, u32 } from "../bytes";
import { crc32 } from "../crc32";
import { ArchiveError, badCheckpoint, badMagic, corrupt, tooLarge, truncated, unsupported } from "../errors";
import type { RandomAccessSource } from "../source";
import type { InflateCheckpoint } from "./checkpoint";
import { Inflater, WINDOW } from "./inflater";

export interface GzipCheckpoint {
  /** Source offset of the deflate data, after the header. */
  readonly dataStart: number;
  readonly inflate: InflateCheckpoint;
}

export interface GunzipOptions {
  /** Total output allowed; default 4 GiB. */
  maxOutput?: number;
  /** Compressed bytes per ranged read; default 256 KiB. */
  rangeSize?: number;
}

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
/** Largest header read: FEXTRA is at most 64 KiB, and a name or comment past that is not a real one. */
const MAX_HEADER = 192 * 1024;

export class ResumableGunzip {
  private constructor(
    private readonly source: RandomAccessSource,
    private readonly dataStart: number,
    private readonly inflater: Inflater,
  ) {}

  static async open(
    source: RandomAccessSource,
    from: GzipCheckpoint | null,
    options: GunzipOptions = {},
  ): Promise<ResumableGunzip> {
    let dataStart: number;
    if (from) {
      dataStart = from.dataStart;
      if (dataStart < 10 || dataStart + 8 > source.size)
        throw badCheckpoint("it does not fit this gzip file");
    } else dataStart = await readHeader(source);
    const inflater = await Inflater.open(
      (offset, length) => source.read(dataStart + offset, length),
      source.size - 8 - dataStart,
      from?.inflate ?? null,
      { maxOutput: options.maxOutput ?? 4 * 1024 ** 3, rangeSize: options.rangeSize, label: "gzip data" },
    );
    return new ResumableGunzip(source, dataStart, inflater);
  }

  /** Bytes of output handed out so far. */
  get position(): number {
    return this.inflater.outputOffset;
  }

  /** Compressed bytes read so far, from the start of the file (how far the walk is, for progress). */
  get inputPosition(): number {
    return this.dataStart + this.inflater.inputConsumed;
  }

  /** The next piece (a view, valid until the next call), or null after the last, trailer checked. */
  async read(size = WINDOW): Promise<Uint8Array | null> {
    const piece = await this.inflater.read(size);
    if (piece) return piece;
    const end = this.dataStart + this.inflater.inputConsumed;
    if (end + 8 !== this.source.size) {
      throw unsupported(`gzip: ${this.source.size - end - 8} bytes after the first member`);
    }
    const trailer = await this.source.read(end, 8);
    if (u32(trailer, 0) !== this.inflater.outputCrc) {
      throw new ArchiveError("checksum", "gzip: CRC-32 of the data differs from the trailer's");
    }
    if (u32(trailer, 4) !== this.inflater.outputOffset % 2 ** 32) {
      throw new ArchiveError("size_mismatch", "gzip: the data's size differs from the trailer's");
    }
    return null;
  }

  /** The state after the last piece ("end") or before it ("start"); valid until the next `read`. */
  checkpoint(at: "start" | "end" = "end"): GzipCheckpoint {
    return { dataStart: this.dataStart, inflate: this.inflater.checkpoint(at) };
  }
}

/** Parses the member header (§2.3); returns where the deflate data starts. */
async function readHeader(source: RandomAccessSource): Promise<number> {
  if (source.size < 18) throw truncated("gzip file");
  const head = await source.read(0, Math.min(source.size, MAX_HEADER));
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw badMagic("not a gzip file");
  if (head[2] !== 8) throw unsupported(`gzip compression method ${head[2]}`);
  const flags = head[3] as number;
  if (flags & 0xe0) throw corrupt("gzip header has reserved flags set");
  let at = 10;
  const need = (n: number) => {
    if (at + n > head.length) {
      throw head.length === source.size ? truncated("gzip header") : tooLarge("gzip header");
    }
  };
  if (flags & FEXTRA) {
    need(2);
    at += 2 + u16(head, at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = head.indexOf(0, at);
    if (nul < 0) need(head.length - at + 1);
    at = nul + 1;
  }
  if (flags & FHCRC) {
    need(2);
    if (u16(head, at) !== (crc32(head.subarray(0, at)) & 0xffff)) throw corrupt("gzip header CRC differs");
    at += 2;
  }
  need(8);
  return at;
}
