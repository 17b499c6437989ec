/**
 * Reading a Mastodon `outbox.json` (an ActivityStreams OrderedCollection whose `orderedItems` may be
 * hundreds of MB) as a stream: each element of `orderedItems` is cut out of the bytes, decoded and
 * parsed on its own, and handed out with its index; the collection's other top-level members are
 * parsed into `fields` as they pass (those after `orderedItems` appear only once the items are done).
 *
 * Memory: one input chunk plus the item being cut out, capped by `maxItemBytes` (default 1 MiB);
 * other members are capped by `maxFieldBytes` (default 1 MiB); nesting by `maxDepth` (default 64,
 * counting the collection and the array). `startAt: n` resumes: items before n are scanned and
 * skipped without being decoded or parsed (no allocation, a byte loop). Malformed JSON anywhere fails
 * with the byte offset, line and column (`JsonScanner`).
 * https://www.w3.org/TR/activitystreams-core/#collections
 */
import { concat } from "../bytes";
import { ArchiveError, tooLarge } from "../errors";
import { JsonScanner } from "./scanner";

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

const MiB = 1024 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class OutboxReader {
  /** Top-level members other than `orderedItems`, as parsed so far. */
  readonly fields: Record<string, unknown> = {};
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

  constructor(
    private readonly input: ReadableStream<Uint8Array>,
    options: OutboxOptions = {},
  ) {
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

  async *items(): AsyncGenerator<OutboxItem> {
    const reader = this.input.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          this.scanner.finish();
          return;
        }
        this.chunk = value;
        let at = 0;
        while (at < value.length) {
          at = this.scanner.scan(value, at);
          if (this.ready) {
            const item = this.ready;
            this.ready = null;
            yield item;
          }
        }
        if (this.capture) this.keep(this.capture.from, value.length);
        if (this.capture) this.capture.from = 0;
        this.scanner.nextChunk(value.length);
      }
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
    }
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
    const c = this.capture as NonNullable<OutboxReader["capture"]>;
    c.length += to - from;
    if (c.length > c.cap) throw tooLarge(`outbox ${c.what} is over ${c.cap} bytes`);
    c.parts.push(this.chunk.slice(from, to));
  }

  private parse(end: number): unknown {
    const c = this.capture as NonNullable<OutboxReader["capture"]>;
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
