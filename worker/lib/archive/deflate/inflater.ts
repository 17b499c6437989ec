/**
 * A DEFLATE decoder (RFC 1951: stored, fixed and dynamic Huffman blocks) in TypeScript, written so an
 * import can stop anywhere and resume in another invocation: it decodes in pieces of bounded size, and
 * between pieces its whole state is an `InflateCheckpoint` (checkpoint.ts): the input bit position, the
 * current block's kind and code lengths, the output count, the CRC-32 of the output so far and the
 * last 32 KiB of output (what back-references may reach). The platform's DecompressionStream cannot
 * do this: its state cannot be saved, so every invocation would inflate from the start.
 *
 * Input comes through `ReadInput` in ranges (default 256 KiB, one R2 subrequest each); memory is one
 * range, a 288 KiB output buffer and the current block's tables (≤ 64 KiB).
 *
 * Bad input fails with an ArchiveError: "corrupt" (invalid codes or lengths, a distance before the
 * start, a bad stored length), "truncated" (the input ends inside the stream), "too_large" (output past
 * `maxOutput`, the bomb cap). Work per `read` is bounded by the piece size, whatever the input.
 * https://www.rfc-editor.org/rfc/rfc1951
 */
import { crc32 } from "../crc32";
import { ArchiveError, corrupt, tooLarge, truncated } from "../errors";
import type { BlockKind, InflateCheckpoint } from "./checkpoint";
import { buildTable, fixedTables, type HuffmanTable } from "./huffman";

/** Reads `length` bytes of the compressed stream at `offset` (stream coordinates: 0 is its first byte). */
export type ReadInput = (offset: number, length: number) => Promise<Uint8Array>;

export interface InflaterOptions {
  /** Total output allowed before failing with "too_large"; default 1 GiB. */
  maxOutput?: number;
  /** Compressed bytes per ReadInput call; default 256 KiB. */
  rangeSize?: number;
  /** Names the stream in errors. */
  label?: string;
}

export const WINDOW = 32 * 1024;
/** The largest piece `read` returns is this plus one match (258 bytes). */
export const MAX_PIECE = 64 * 1024;
const MAX_MATCH = 258;
const OUT_SIZE = WINDOW + 4 * MAX_PIECE + MAX_MATCH;
/** Bytes a block header may need (a dynamic one is at most ~300): below this, fetch more first. */
const HEADER_MARGIN = 640;
/** Bytes one symbol may need: 15 + 5 + 15 + 13 bits, and the 4-byte peek. */
const SYMBOL_MARGIN = 10;
const PAD = 16;

/** RFC 1951 §3.2.5: length codes 257-285 as base lengths and extra bits, distance codes 0-29 likewise. */
// prettier-ignore
const LENGTH_BASE = Uint16Array.of(
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
);
// prettier-ignore
const LENGTH_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
);
// prettier-ignore
const DIST_BASE = Uint16Array.of(
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577,
);
// prettier-ignore
const DIST_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
);
const CODE_LENGTH_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

/** 25 or more bits of input from bit `pos` on, least significant first. */
const peek = (b: Uint8Array, pos: number): number => {
  const i = pos >>> 3;
  return (
    ((b[i] as number) |
      ((b[i + 1] as number) << 8) |
      ((b[i + 2] as number) << 16) |
      ((b[i + 3] as number) << 24)) >>>
    (pos & 7)
  );
};

/** Where a piece ended: its output is full, more input is needed, or the stream is over. */
const enum Stop {
  Full,
  Input,
  End,
}

interface Mark {
  bit: number;
  block: BlockKind;
  final: boolean;
  storedLeft: number;
  lengths: Uint8Array | null;
  hlit: number;
  total: number;
  crc: number;
  op: number;
}

export class Inflater {
  private readonly out = new Uint8Array(OUT_SIZE);
  private op = 0; // next write in `out`; out[op - min(total, WINDOW) .. op) is the window
  private input: Uint8Array = new Uint8Array(PAD);
  private inputStart = 0; // stream offset of input[0]
  private inputLength = 0; // real bytes in `input` (then PAD zeros, so a peek never reads past it)
  private pos = 0; // bit position in `input`
  private block: BlockKind = "header";
  private final = false;
  private storedLeft = 0;
  private lengths: Uint8Array | null = null;
  private hlit = 0;
  private literals: HuffmanTable | null = null;
  private distances: HuffmanTable | null = null;
  private total = 0;
  private crc = 0;
  private mark: Mark;
  private readonly maxOutput: number;
  private readonly rangeSize: number;
  private readonly label: string;

  private constructor(
    private readonly readInput: ReadInput,
    private readonly inputSize: number,
    options: InflaterOptions,
  ) {
    this.maxOutput = options.maxOutput ?? 1024 * 1024 * 1024;
    this.rangeSize = Math.max(options.rangeSize ?? 256 * 1024, 4096);
    this.label = options.label ?? "deflate stream";
    this.mark = this.position();
  }

  /** A decoder at the start of the stream, or where `from` was taken (the same stream's checkpoint). */
  static async open(
    readInput: ReadInput,
    inputSize: number,
    from: InflateCheckpoint | null,
    options: InflaterOptions = {},
  ): Promise<Inflater> {
    const inflater = new Inflater(readInput, inputSize, options);
    if (from) inflater.restore(from);
    await inflater.refill();
    inflater.mark = inflater.position();
    return inflater;
  }

  /** Output bytes produced so far (before the next `read`). */
  get outputOffset(): number {
    return this.total;
  }

  /** CRC-32 of the output so far. */
  get outputCrc(): number {
    return this.crc;
  }

  /** Compressed bytes consumed, once `read` has returned null: where a container's trailer starts. */
  get inputConsumed(): number {
    return this.inputStart + Math.ceil(this.pos / 8);
  }

  /**
   * The next piece of output, about `size` bytes (1 to `size` + 257; `size` at most MAX_PIECE), or null
   * once the final block has ended. The piece is a view, valid until the next call.
   */
  async read(size = WINDOW): Promise<Uint8Array | null> {
    if (this.block === "done") return null;
    this.slide();
    this.mark = this.position();
    const start = this.op;
    const limit = start + Math.min(Math.max(size, 1), MAX_PIECE);
    for (;;) {
      const stop = this.run(limit);
      if (stop === Stop.Input) {
        await this.refill();
        continue;
      }
      if (stop === Stop.End && this.op === start) return null;
      break;
    }
    const piece = this.out.subarray(start, this.op);
    this.total += piece.length;
    if (this.total > this.maxOutput) {
      throw tooLarge(`${this.label} inflates to more than ${this.maxOutput} bytes`);
    }
    this.crc = crc32(piece, this.crc);
    return piece;
  }

  /**
   * The decoder's state as a checkpoint: "end" (default) is after the last piece `read` returned,
   * "start" is before it (so a reader can resume there and skip into it). Valid until the next `read`.
   */
  checkpoint(at: "start" | "end" = "end"): InflateCheckpoint {
    const m = at === "start" ? this.mark : this.position();
    return {
      bit: m.bit,
      block: m.block,
      final: m.final,
      storedLeft: m.storedLeft,
      lengths: m.lengths,
      hlit: m.hlit,
      total: m.total,
      crc: m.crc,
      window: this.out.slice(m.op - Math.min(m.total, WINDOW), m.op),
    };
  }

  private position(): Mark {
    return {
      bit: this.inputStart * 8 + this.pos,
      block: this.block,
      final: this.final,
      storedLeft: this.storedLeft,
      lengths: this.lengths,
      hlit: this.hlit,
      total: this.total,
      crc: this.crc,
      op: this.op,
    };
  }

  private restore(c: InflateCheckpoint): void {
    if (c.bit > this.inputSize * 8) throw corrupt(`${this.label}: checkpoint is past the end of the input`);
    this.inputStart = Math.floor(c.bit / 8);
    this.pos = c.bit % 8;
    this.block = c.block;
    this.final = c.final;
    this.storedLeft = c.storedLeft;
    this.total = c.total;
    this.crc = c.crc;
    this.out.set(c.window, 0);
    this.op = c.window.length;
    if (c.block === "fixed") this.useFixed();
    if (c.block === "dynamic") {
      if (!c.lengths) throw corrupt(`${this.label}: checkpoint inside a dynamic block has no code lengths`);
      this.useLengths(c.lengths, c.hlit);
    }
  }

  /** Keeps the window and makes room for a full piece after it. */
  private slide(): void {
    if (this.op + MAX_PIECE + MAX_MATCH <= OUT_SIZE) return;
    this.out.copyWithin(0, this.op - WINDOW, this.op);
    this.op = WINDOW;
  }

  private get atEnd(): boolean {
    return this.inputStart + this.inputLength >= this.inputSize;
  }

  /** Drops consumed input and appends the next range. */
  private async refill(): Promise<void> {
    const keep = this.pos >>> 3;
    const from = this.inputStart + this.inputLength;
    const length = Math.min(this.rangeSize, this.inputSize - from);
    const fresh = length > 0 ? await this.readInput(from, length) : new Uint8Array(0);
    if (fresh.length !== length) throw truncated(`${this.label}: short read of the input`);
    const tail = this.input.subarray(keep, this.inputLength);
    const next = new Uint8Array(tail.length + fresh.length + PAD);
    next.set(tail, 0);
    next.set(fresh, tail.length);
    this.input = next;
    this.inputStart += keep;
    this.inputLength = tail.length + fresh.length;
    this.pos -= keep * 8;
  }

  /** Decodes until `limit` output, a need for input, or the end; stops only between symbols. */
  private run(limit: number): Stop {
    try {
      const stop = this.decode(limit);
      if (this.pos > this.inputLength * 8) throw truncated(`${this.label}: compressed data`);
      return stop;
    } catch (e) {
      // Past the real end the decoder reads padding zeros, which can look like any error.
      if (e instanceof ArchiveError && this.pos > this.inputLength * 8 && this.atEnd) {
        throw truncated(`${this.label}: compressed data`);
      }
      throw e;
    }
  }

  private decode(limit: number): Stop {
    const atEnd = this.atEnd;
    for (;;) {
      switch (this.block) {
        case "done":
          return Stop.End;
        case "header":
          if (this.op >= limit) return Stop.Full;
          if (!atEnd && (this.pos >>> 3) + HEADER_MARGIN > this.inputLength) return Stop.Input;
          if (atEnd && this.pos + 3 > this.inputLength * 8) throw truncated(`${this.label}: compressed data`);
          this.header();
          break;
        case "stored": {
          if (this.storedLeft === 0) {
            this.block = this.final ? "done" : "header";
            break;
          }
          const at = this.pos >>> 3;
          const n = Math.min(this.storedLeft, limit - this.op, this.inputLength - at);
          if (n <= 0) {
            if (this.op >= limit) return Stop.Full;
            if (atEnd) throw truncated(`${this.label}: stored block`);
            return Stop.Input;
          }
          this.out.set(this.input.subarray(at, at + n), this.op);
          this.op += n;
          this.pos += n * 8;
          this.storedLeft -= n;
          break;
        }
        default: {
          const stop = this.codes(limit, atEnd);
          if (stop !== null) return stop;
        }
      }
    }
  }

  /** The hot loop: Huffman-coded symbols until the block ends (null) or the piece must stop. */
  private codes(limit: number, atEnd: boolean): Stop | null {
    const input = this.input;
    const out = this.out;
    const lit = (this.literals as HuffmanTable).entries;
    const litMask = (1 << (this.literals as HuffmanTable).bits) - 1;
    const dist = (this.distances as HuffmanTable).entries;
    const distMask = (1 << (this.distances as HuffmanTable).bits) - 1;
    // At the end, stop once past the last real bit: `run` reports that as truncation.
    const lastSafe = (atEnd ? this.inputLength : this.inputLength - SYMBOL_MARGIN) * 8;
    let pos = this.pos;
    let op = this.op;
    try {
      for (;;) {
        if (op >= limit) return Stop.Full;
        if (pos > lastSafe) return Stop.Input;
        let e = lit[peek(input, pos) & litMask] as number;
        if ((e & 15) === 0) throw corrupt(`${this.label}: invalid literal/length code`);
        pos += e & 15;
        let sym = e >>> 4;
        if (sym < 256) {
          out[op++] = sym;
          continue;
        }
        if (sym === 256) {
          this.block = this.final ? "done" : "header";
          this.lengths = null;
          return null;
        }
        sym -= 257;
        if (sym >= 29) throw corrupt(`${this.label}: invalid length code ${sym + 257}`);
        let extra = LENGTH_EXTRA[sym] as number;
        const length = (LENGTH_BASE[sym] as number) + (peek(input, pos) & ((1 << extra) - 1));
        pos += extra;
        e = dist[peek(input, pos) & distMask] as number;
        if ((e & 15) === 0) throw corrupt(`${this.label}: invalid distance code`);
        pos += e & 15;
        sym = e >>> 4;
        if (sym >= 30) throw corrupt(`${this.label}: invalid distance code ${sym}`);
        extra = DIST_EXTRA[sym] as number;
        const distance = (DIST_BASE[sym] as number) + (peek(input, pos) & ((1 << extra) - 1));
        pos += extra;
        if (distance > op) throw corrupt(`${this.label}: distance ${distance} is before the start`);
        let from = op - distance;
        const end = op + length;
        while (op < end) out[op++] = out[from++] as number;
      }
    } finally {
      this.pos = pos;
      this.op = op;
    }
  }

  private bits(n: number): number {
    const v = peek(this.input, this.pos) & ((1 << n) - 1);
    this.pos += n;
    return v;
  }

  /** A block header (§3.2.3): stored length, or which codes, or the dynamic code lengths (§3.2.7). */
  private header(): void {
    this.final = this.bits(1) === 1;
    const type = this.bits(2);
    if (type === 0) {
      this.pos = (this.pos + 7) & ~7;
      if (this.pos + 32 > this.inputLength * 8) throw truncated(`${this.label}: stored block header`);
      const length = this.bits(16);
      if ((this.bits(16) ^ 0xffff) !== length) throw corrupt(`${this.label}: stored block length check`);
      this.block = "stored";
      this.storedLeft = length;
    } else if (type === 1) {
      this.useFixed();
      this.block = "fixed";
    } else if (type === 2) {
      this.dynamicHeader();
      this.block = "dynamic";
    } else throw corrupt(`${this.label}: invalid block type 3`);
  }

  private dynamicHeader(): void {
    const hlit = this.bits(5) + 257;
    const hdist = this.bits(5) + 1;
    const hclen = this.bits(4) + 4;
    if (hlit > 286 || hdist > 30) throw corrupt(`${this.label}: too many length or distance codes`);
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < hclen; i++) codeLengths[CODE_LENGTH_ORDER[i] as number] = this.bits(3);
    const table = buildTable(codeLengths, 19, "code length");
    const mask = (1 << table.bits) - 1;
    const n = hlit + hdist;
    const lengths = new Uint8Array(n);
    for (let i = 0; i < n;) {
      const e = table.entries[peek(this.input, this.pos) & mask] as number;
      if ((e & 15) === 0) throw corrupt(`${this.label}: invalid code length code`);
      this.pos += e & 15;
      const sym = e >>> 4;
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let repeat: number;
      if (sym === 16) {
        if (i === 0) throw corrupt(`${this.label}: a length repeat with no length before it`);
        value = lengths[i - 1] as number;
        repeat = 3 + this.bits(2);
      } else repeat = sym === 17 ? 3 + this.bits(3) : 11 + this.bits(7);
      if (i + repeat > n) throw corrupt(`${this.label}: code lengths repeat past their count`);
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw corrupt(`${this.label}: no end-of-block code`);
    this.useLengths(lengths, hlit);
  }

  private useFixed(): void {
    const tables = fixedTables();
    this.literals = tables.literals;
    this.distances = tables.distances;
  }

  private useLengths(lengths: Uint8Array, hlit: number): void {
    this.literals = buildTable(lengths.subarray(0, hlit), hlit, "literal/length", true);
    this.distances = buildTable(lengths.subarray(hlit), lengths.length - hlit, "distance", true);
    this.lengths = lengths;
    this.hlit = hlit;
  }
}
