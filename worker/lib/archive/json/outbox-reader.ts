/**
 * Reading a Mastodon `outbox.json` (an ActivityStreams OrderedCollection whose `orderedItems` may be
 * hundreds of MB) from a stream: each element of `orderedItems` is cut out of the bytes, decoded and
 * parsed on its own, and handed out with its index; the collection's other top-level members are
 * parsed into `fields` as they pass (those after `orderedItems` appear only once the items are done).
 *
 * Memory and caps: see OutboxParser. `startAt: n` resumes by re-reading: items before n are scanned and
 * skipped without being decoded or parsed (a byte loop). To resume without re-reading, a ZIP entry is
 * read in checkpointed chunks instead (outbox-chunks.ts). Malformed JSON anywhere fails with the byte
 * offset, line and column (`JsonScanner`).
 * https://www.w3.org/TR/activitystreams-core/#collections
 */
import { OutboxParser, type OutboxItem, type OutboxOptions } from "./outbox-parser";

export type { OutboxItem, OutboxOptions } from "./outbox-parser";

export class OutboxReader {
  private readonly parser: OutboxParser;

  constructor(
    private readonly input: ReadableStream<Uint8Array>,
    options: OutboxOptions = {},
  ) {
    this.parser = new OutboxParser(options);
  }

  /** Top-level members other than `orderedItems`, as parsed so far. */
  get fields(): Record<string, unknown> {
    return this.parser.fields;
  }

  /** Items of `orderedItems` seen so far, skipped ones included. */
  get itemCount(): number {
    return this.parser.itemCount;
  }

  async *items(): AsyncGenerator<OutboxItem> {
    const reader = this.input.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          this.parser.finish();
          return;
        }
        let at = 0;
        while (at < value.length) {
          at = this.parser.scan(value, at);
          const item = this.parser.take();
          if (item) yield item;
        }
        this.parser.endChunk();
      }
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
    }
  }
}
