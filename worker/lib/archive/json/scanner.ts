/**
 * A validating JSON scanner over bytes that arrive in chunks (RFC 8259): a pushdown automaton that
 * builds nothing. It reports where values start and end at the top levels (0, 1 and 2: the document,
 * its members, their elements) and where level-1 keys are, so a caller can cut those byte ranges out
 * and parse only what it wants, and skip the rest for the cost of a byte loop.
 *
 * Errors name the byte offset, line and column. Nesting deeper than `maxDepth` containers fails with
 * "too_deep" before anything is allocated for it. Limits: UTF-8 inside skipped strings is not checked
 * (the caller's decoder checks what it parses); a BOM is not accepted.
 * https://www.rfc-editor.org/rfc/rfc8259
 */
import { z } from "zod";
import { ArchiveError, badCheckpoint } from "../errors";

export interface ScanHooks {
  /** A value at `level` ≤ 2 starts at `pos` with byte `byte`. */
  start(level: number, pos: number, byte: number): void;
  /** A value at `level` ≤ 2 ends before `pos`; true pauses the scan there. */
  end(level: number, pos: number): boolean;
  /** A key of the top-level object starts (its opening quote) at `pos`. */
  keyStart(pos: number): void;
  /** …and ends before `pos`. */
  keyEnd(pos: number): void;
}

/**
 * Where a scan stands, as plain JSON: enough to continue in another invocation from a byte offset
 * (`offset`), given the bytes from there on. See `JsonScanner.snapshot`.
 */
export const ScannerState = z.object({
  offset: z.number().int().nonnegative(),
  state: z.number().int().min(0).max(18),
  stack: z.array(z.union([z.literal(1), z.literal(2)])),
  strIsKey: z.boolean(),
  hexLeft: z.number().int().min(0).max(4),
  literal: z.union([z.literal(0), z.literal(0x74), z.literal(0x66), z.literal(0x6e)]),
  literalAt: z.number().int().min(0).max(5),
  line: z.number().int().positive(),
  lineStart: z.number().int().nonnegative(),
});
export type ScannerState = z.infer<typeof ScannerState>;

const enum S {
  Value,
  ArrFirst,
  ObjFirst,
  Key,
  Colon,
  After,
  Str,
  StrEsc,
  StrU,
  NumMinus,
  NumZero,
  NumInt,
  NumDot,
  NumFrac,
  NumE,
  NumESign,
  NumExp,
  Lit,
  End,
}

const OBJ = 1;
const ARR = 2;
const LITERALS: Record<number, Uint8Array> = {
  0x74: new TextEncoder().encode("true"),
  0x66: new TextEncoder().encode("false"),
  0x6e: new TextEncoder().encode("null"),
};

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

export class JsonScanner {
  private state = S.Value;
  private readonly stack: Uint8Array;
  private depth = 0;
  private strIsKey = false;
  private hexLeft = 0;
  private literal: Uint8Array = new Uint8Array(0);
  private literalAt = 0;
  private base = 0; // document offset of the current chunk's first byte
  private line = 1;
  private lineStart = 0;

  constructor(
    private readonly hooks: ScanHooks,
    private readonly maxDepth: number,
  ) {
    this.stack = new Uint8Array(maxDepth + 1);
  }

  /**
   * The scan's state at `pos` of the current chunk, where it stopped (a pause, or the chunk's end).
   * A scanner restored from it continues exactly, fed the document's bytes from `offset` on.
   */
  snapshot(pos: number): ScannerState {
    return {
      offset: this.base + pos,
      state: this.state,
      stack: [...this.stack.subarray(1, this.depth + 1)] as (1 | 2)[],
      strIsKey: this.strIsKey,
      hexLeft: this.hexLeft,
      literal: this.state === S.Lit ? ((this.literal[0] ?? 0) as 0x74 | 0x66 | 0x6e) : 0,
      literalAt: this.literalAt,
      line: this.line,
      lineStart: this.lineStart,
    };
  }

  /** Continues from a snapshot (checked: one read back from storage is input); the next chunk starts at its offset. */
  restore(snapshot: unknown): void {
    const parsed = ScannerState.safeParse(snapshot);
    if (!parsed.success) throw badCheckpoint("bad JSON scanner state");
    const s = parsed.data;
    if (s.stack.length > this.maxDepth) throw badCheckpoint("JSON scanner state is nested too deep");
    if ((s.state === S.Lit) !== (s.literal !== 0)) throw badCheckpoint("bad JSON literal state");
    this.base = s.offset;
    this.state = s.state;
    this.depth = s.stack.length;
    this.stack.fill(0);
    this.stack.set(s.stack, 1);
    this.strIsKey = s.strIsKey;
    this.hexLeft = s.hexLeft;
    this.literal = s.literal ? (LITERALS[s.literal] as Uint8Array) : new Uint8Array(0);
    this.literalAt = s.literalAt;
    this.line = s.line;
    this.lineStart = s.lineStart;
  }

  /** Where in the document offset `pos` of the current chunk is. */
  offset(pos: number): number {
    return this.base + pos;
  }

  /** Call once the chunk is done (scan returned its length), before the next. */
  nextChunk(length: number): void {
    this.base += length;
  }

  error(pos: number, what: string, kind: "json" | "truncated" = "json"): ArchiveError {
    const at = this.base + pos;
    return new ArchiveError(
      kind,
      `malformed JSON at byte ${at} (line ${this.line}, column ${at - this.lineStart + 1}): ${what}`,
    );
  }

  /** Scans `chunk` from `from`; returns where it stopped: the chunk's length, or just after a pause. */
  scan(chunk: Uint8Array, from: number): number {
    const n = chunk.length;
    let i = from;
    while (i < n) {
      const c = chunk[i] as number;
      switch (this.state) {
        case S.Str: {
          // The hot loop: most bytes of a document are inside strings.
          while (i < n) {
            const b = chunk[i] as number;
            if (b === 0x22) break;
            if (b === 0x5c) break;
            if (b < 0x20) throw this.error(i, "control character in a string");
            i++;
          }
          if (i === n) return n;
          if (chunk[i] === 0x5c) {
            this.state = S.StrEsc;
            i++;
            break;
          }
          i++; // the closing quote
          if (this.strIsKey) {
            if (this.depth === 1) this.hooks.keyEnd(i);
            this.state = S.Colon;
          } else if (this.valueEnded(i)) return i;
          break;
        }
        case S.StrEsc:
          if (c === 0x75) {
            this.state = S.StrU;
            this.hexLeft = 4;
          } else if ('"\\/bfnrt'.includes(String.fromCharCode(c))) this.state = S.Str;
          else throw this.error(i, "bad escape in a string");
          i++;
          break;
        case S.StrU:
          if (!isHex(c)) throw this.error(i, "bad \\u escape");
          if (--this.hexLeft === 0) this.state = S.Str;
          i++;
          break;
        case S.Value:
        case S.ArrFirst:
          if (isWs(c)) {
            this.whitespace(c, i++);
            break;
          }
          if (c === 0x5d && this.state === S.ArrFirst) {
            if (this.close(ARR, ++i)) return i;
            break;
          }
          this.valueStarts(c, i);
          i++;
          break;
        case S.ObjFirst:
        case S.Key:
          if (isWs(c)) {
            this.whitespace(c, i++);
            break;
          }
          if (c === 0x22) {
            this.state = S.Str;
            this.strIsKey = true;
            if (this.depth === 1) this.hooks.keyStart(i);
            i++;
            break;
          }
          if (c === 0x7d && this.state === S.ObjFirst) {
            if (this.close(OBJ, ++i)) return i;
            break;
          }
          throw this.error(i, this.state === S.Key ? "expected a key after ','" : "expected a key or '}'");
        case S.Colon:
          if (isWs(c)) {
            this.whitespace(c, i++);
            break;
          }
          if (c !== 0x3a) throw this.error(i, "expected ':' after a key");
          this.state = S.Value;
          i++;
          break;
        case S.After: {
          if (isWs(c)) {
            this.whitespace(c, i++);
            break;
          }
          const top = this.stack[this.depth];
          if (c === 0x2c) this.state = top === OBJ ? S.Key : S.Value;
          else if (c === 0x7d && top === OBJ) {
            if (this.close(OBJ, ++i)) return i;
            break;
          } else if (c === 0x5d && top === ARR) {
            if (this.close(ARR, ++i)) return i;
            break;
          } else throw this.error(i, top === OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
          i++;
          break;
        }
        case S.End:
          if (!isWs(c)) throw this.error(i, "data after the end of the document");
          this.whitespace(c, i++);
          break;
        case S.Lit:
          if (c !== this.literal[this.literalAt]) throw this.error(i, "bad literal");
          i++;
          if (++this.literalAt === this.literal.length && this.valueEnded(i)) return i;
          break;
        default: {
          // numbers
          const next = this.numberStep(c);
          if (next === null) {
            if (!this.numberComplete()) throw this.error(i, "bad number");
            if (this.valueEnded(i)) return i; // `c` is not consumed: it belongs to what follows
            break;
          }
          this.state = next;
          i++;
        }
      }
    }
    return n;
  }

  /** The input has ended; fails unless the document is complete. */
  finish(): void {
    if (this.state !== S.End && this.numberComplete() && this.depth === 0) {
      this.valueEnded(0);
    }
    if (this.state !== S.End) throw this.error(0, "the document ends early", "truncated");
  }

  private whitespace(c: number, pos: number): void {
    if (c === 0x0a) {
      this.line++;
      this.lineStart = this.base + pos + 1;
    }
  }

  private valueStarts(c: number, i: number): void {
    const level = this.depth;
    if (level <= 2) this.hooks.start(level, i, c);
    if (c === 0x7b || c === 0x5b) {
      if (this.depth >= this.maxDepth) {
        throw new ArchiveError("too_deep", `${this.error(i, "").message}nested deeper than ${this.maxDepth}`);
      }
      this.stack[++this.depth] = c === 0x7b ? OBJ : ARR;
      this.state = c === 0x7b ? S.ObjFirst : S.ArrFirst;
    } else if (c === 0x22) {
      this.state = S.Str;
      this.strIsKey = false;
    } else if (c === 0x2d) this.state = S.NumMinus;
    else if (c === 0x30) this.state = S.NumZero;
    else if (isDigit(c)) this.state = S.NumInt;
    else if (LITERALS[c]) {
      this.state = S.Lit;
      this.literal = LITERALS[c] as Uint8Array;
      this.literalAt = 1;
    } else throw this.error(i, "expected a value");
  }

  private close(kind: number, end: number): boolean {
    if (this.stack[this.depth] !== kind) throw this.error(end - 1, "mismatched bracket");
    this.depth--;
    return this.valueEnded(end);
  }

  /** A value just ended before `pos`; true when the hook asks to pause. */
  private valueEnded(pos: number): boolean {
    this.state = this.depth === 0 ? S.End : S.After;
    return this.depth <= 2 ? this.hooks.end(this.depth, pos) : false;
  }

  private numberStep(c: number): S | null {
    const digit = isDigit(c);
    const e = c === 0x65 || c === 0x45;
    switch (this.state) {
      case S.NumMinus:
        return c === 0x30 ? S.NumZero : digit ? S.NumInt : null;
      case S.NumZero:
        return c === 0x2e ? S.NumDot : e ? S.NumE : null;
      case S.NumInt:
        return digit ? S.NumInt : c === 0x2e ? S.NumDot : e ? S.NumE : null;
      case S.NumDot:
        return digit ? S.NumFrac : null;
      case S.NumFrac:
        return digit ? S.NumFrac : e ? S.NumE : null;
      case S.NumE:
        return c === 0x2b || c === 0x2d ? S.NumESign : digit ? S.NumExp : null;
      case S.NumESign:
        return digit ? S.NumExp : null;
      default:
        return digit ? S.NumExp : null;
    }
  }

  private numberComplete(): boolean {
    return (
      this.state === S.NumZero ||
      this.state === S.NumInt ||
      this.state === S.NumFrac ||
      this.state === S.NumExp
    );
  }
}
