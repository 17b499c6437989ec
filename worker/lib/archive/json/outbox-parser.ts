/**
 * The push side of reading a Mastodon `outbox.json`: chunks of the document go in, each element of
 * `orderedItems` comes out parsed with its index, one at a time, and the collection's other top-level
 * members are parsed into `fields` as they pass. `OutboxReader` drives it from a stream; the chunked
 * import (outbox-chunks.ts) drives it from a resumable inflate and saves its `state()` between items.
 *
 * Memory: the item being cut out, capped by `maxItemBytes` (default 1 MiB); other members are capped
 * by `maxFieldBytes` (default 1 MiB); nesting by `maxDepth` (default 64, counting the collection and
 * the array). Items before `startAt` are scanned and skipped without being decoded or parsed.
 * https://www.w3.org/TR/activitystreams-core/#collections
 */
import { z } from "zod";
import { concat } from "../bytes";
import { ArchiveError, badCheckpoint, tooLarge } from "../errors";
import { JsonScanner, ScannerState } from "./scanner";

export interface OutboxOptions {
  startAt?: number;
  maxItemBytes?: number;
  maxFieldBytes?: number;
  maxDepth?: number;
}

export interface OutboxItem {
  index: number;
  item: unknown;
}

/** The parser between two items, as JSON: see `OutboxParser.state`. */
export const OutboxParserState = z.object({
  scanner: ScannerState,
  itemCount: z.number().int().nonnegative(),
  key: z.string().nullable(),
  inItems: z.boolean(),
  fields: z.record(z.string(), z.unknown()),
});
export type OutboxParserState = z.infer<typeof OutboxParserState>;

const MiB = 1024 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class OutboxParser {
  /** Top-level members other than `orderedItems`, as parsed so far. */
  fields: Record<string, unknown> = {};
  /** Items of `orderedItems` seen so far, skipped ones included. */
  itemCount = 0;

  private readonly startAt: number;
  private readonly maxItem: number;
  private readonly maxField: number;
  private readonly scanner: JsonScanner;
  private chunk: Uint8Array = new Uint8Array(0);
  private key: string | null = null;
  private inItems = false;
  private capture: { from: number; parts: Uint8Array[]; length: number; cap: number; what: string } | null =
    null;
  private ready: OutboxItem | null = null;

  constructor(options: OutboxOptions = {}) {
    this.startAt = options.startAt ?? 0;
    this.maxItem = options.maxItemBytes ?? MiB;
    this.maxField = options.maxFieldBytes ?? MiB;
    this.scanner = new JsonScanner(
      {
        start: (level, pos, byte) => this.valueStarts(level, pos, byte),
        end: (level, pos) => this.valueEnds(level, pos),
        keyStart: (pos) => this.begin(pos, 4096, "top-level key"),
        keyEnd: (pos) => {
          this.key = this.parse(pos) as string;
        },
      },
      options.maxDepth ?? 64,
    );
  }

  /**
   * Scans `chunk` from `from` until an item is complete (`take` returns it) or the chunk ends;
   * returns where it stopped. Call `endChunk` once it returns the chunk's length.
   */
  scan(chunk: Uint8Array, from: number): number {
    this.chunk = chunk;
    return this.scanner.scan(chunk, from);
  }

  /** The item the last `scan` completed, if it did. */
  take(): OutboxItem | null {
    const item = this.ready;
    this.ready = null;
    return item;
  }

  endChunk(): void {
    const length = this.chunk.length;
    if (this.capture) this.keep(this.capture.from, length);
    if (this.capture) this.capture.from = 0;
    this.scanner.nextChunk(length);
  }

  /** The input has ended; fails unless the document is complete. */
  finish(): void {
    this.scanner.finish();
  }

  /**
   * The state at `pos` of the current chunk, which must be between values (after an item, say): a
   * parser restored from it continues from the document's byte `state.scanner.offset`.
   */
  state(pos: number): OutboxParserState {
    if (this.capture) throw new Error("outbox parser state taken inside a value");
    return {
      scanner: this.scanner.snapshot(pos),
      itemCount: this.itemCount,
      key: this.key,
      inItems: this.inItems,
      fields: this.fields,
    };
  }

  restore(state: unknown): void {
    const parsed = OutboxParserState.safeParse(state);
    if (!parsed.success) throw badCheckpoint("bad outbox parser state");
    this.scanner.restore(parsed.data.scanner);
    this.itemCount = parsed.data.itemCount;
    this.key = parsed.data.key;
    this.inItems = parsed.data.inItems;
    this.fields = { ...parsed.data.fields };
  }

  private valueStarts(level: number, pos: number, byte: number): void {
    if (level === 0) {
      if (byte !== 0x7b) throw this.scanner.error(pos, "an outbox must be a JSON object");
    } else if (level === 1) {
      if (this.key === "orderedItems") {
        if (byte !== 0x5b) throw this.scanner.error(pos, "orderedItems must be an array");
        this.inItems = true;
      } else this.begin(pos, this.maxField, `member ${JSON.stringify(this.key)}`);
    } else if (this.inItems && this.itemCount >= this.startAt) {
      this.begin(pos, this.maxItem, `item ${this.itemCount}`);
    }
  }

  private valueEnds(level: number, pos: number): boolean {
    if (level === 2 && this.inItems) {
      const index = this.itemCount++;
      if (!this.capture) return false;
      this.ready = { index, item: this.parse(pos) };
      return true;
    }
    if (level === 1) {
      if (this.inItems) this.inItems = false;
      else if (this.capture && this.key !== null) this.fields[this.key] = this.parse(pos);
    }
    return false;
  }

  private begin(from: number, cap: number, what: string): void {
    this.capture = { from, parts: [], length: 0, cap, what };
  }

  /** Keeps [from, to) of the current chunk in the capture. */
  private keep(from: number, to: number): void {
    const c = this.capture as NonNullable<OutboxParser["capture"]>;
    c.length += to - from;
    if (c.length > c.cap) throw tooLarge(`outbox ${c.what} is over ${c.cap} bytes`);
    c.parts.push(this.chunk.slice(from, to));
  }

  private parse(end: number): unknown {
    const c = this.capture as NonNullable<OutboxParser["capture"]>;
    this.keep(c.from, end);
    this.capture = null;
    let text: string;
    try {
      text = utf8.decode(concat(c.parts, c.length));
    } catch {
      throw new ArchiveError("json", `outbox ${c.what} is not valid UTF-8`);
    }
    // The scanner has validated the syntax, so this cannot fail on grammar.
    return JSON.parse(text);
  }
}
