/**
 * readOutboxChunk over ZIP archives whose outbox.json is several MB: reading in chunks of N items,
 * each call resuming from the last one's checkpoint, gives exactly the items JSON.parse finds in the
 * whole document, for several N; a chunk whose result is dropped (a crash) and read again from the
 * same checkpoint gives the same items; checkpoints from elsewhere are refused.
 */
import { describe, expect, it } from "vitest";
import { readOutboxChunk, type OutboxChunkOptions } from "../../../worker/lib/archive/json/outbox-chunks";
import type { OutboxItem } from "../../../worker/lib/archive/json/outbox-parser";
import { bytesSource, type RandomAccessSource } from "../../../worker/lib/archive/source";
import type { ZipEntry } from "../../../worker/lib/archive/zip/entries";
import { ZipReader } from "../../../worker/lib/archive/zip/reader";
import { ResumableEntry } from "../../../worker/lib/archive/zip/resumable-entry";
import { ZipWriter } from "../../../worker/lib/archive/zip/writer";
import { firstDifference } from "./deflate/helpers";
import { failureKind, fixtures } from "./fixtures";

/** A Mastodon-shaped outbox of `n` items (~1.3 KB each), deterministic. */
function outboxText(n: number): string {
  const items = Array.from({ length: n }, (_, i) => ({
    id: `https://old.example/users/alice/statuses/${100000 + i}/activity`,
    type: i % 5 === 4 ? "Announce" : "Create",
    actor: "https://old.example/users/alice",
    published: new Date(Date.UTC(2023, 0, 1) + i * 3_600_000).toISOString(),
    to: ["https://www.w3.org/ns/activitystreams#Public"],
    cc: ["https://old.example/users/alice/followers"],
    object: {
      id: `https://old.example/users/alice/statuses/${100000 + i}`,
      type: "Note",
      content: `<p>Post ${i}: ${'élan 😀 "quoted" } ] { [ \\ '.repeat(1 + (i % 7))}${(i * 7919) % 10007}</p>`,
      tag: Array.from({ length: i % 4 }, (_, t) => ({ type: "Hashtag", name: `#tag${(i + t) % 97}` })),
      attachment:
        i % 3 ? [] : [{ type: "Document", url: `/system/media_attachments/files/${i}/original/a.png` }],
    },
  }));
  return JSON.stringify({
    "@context": "https://www.w3.org/ns/activitystreams",
    id: "outbox.json",
    type: "OrderedCollection",
    totalItems: n,
    orderedItems: items,
    last: { note: "a member after the items" },
  });
}

async function zipWith(outbox: string, method: "deflate" | "store"): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const zip = new ZipWriter({ write: async (c) => void parts.push(c.slice()), close: async () => {} });
  await zip.add("actor.json", new TextEncoder().encode('{"type":"Person"}'));
  await zip.add("outbox.json", new TextEncoder().encode(outbox), { method });
  await zip.finish();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

async function outboxEntry(archive: Uint8Array): Promise<{ source: RandomAccessSource; entry: ZipEntry }> {
  const source = bytesSource(archive);
  const entry = (await (await ZipReader.open(source)).index()).get("outbox.json");
  if (!entry) throw new Error("no outbox.json");
  return { source, entry };
}

/** Reads the whole outbox in chunks; returns the items, the calls' times and the checkpoints. */
async function readInChunks(
  source: RandomAccessSource,
  entry: ZipEntry,
  options: OutboxChunkOptions,
  onChunk?: (checkpoint: Uint8Array | null) => Promise<void>,
) {
  const items: OutboxItem[] = [];
  let checkpoint: Uint8Array | null = null;
  let fields: Record<string, unknown> = {};
  const times: number[] = [];
  let inflated = 0;
  let largestCheckpoint = 0;
  for (let calls = 0; ; calls++) {
    if (calls > 100_000) throw new Error("no progress");
    await onChunk?.(checkpoint);
    const t = performance.now();
    const chunk = await readOutboxChunk(source, entry, checkpoint, options);
    times.push(performance.now() - t);
    items.push(...chunk.items);
    inflated += chunk.inflatedBytes;
    checkpoint = chunk.checkpoint;
    largestCheckpoint = Math.max(largestCheckpoint, checkpoint.length);
    fields = chunk.fields;
    if (chunk.done) return { items, fields, times, inflated, largestCheckpoint, checkpoint };
  }
}

const ITEMS = 7000;

/** Prints what a call costs, for sizing an importer's chunks (wall time of CPU-bound work here). */
function report(what: string, times: number[], bytes: number) {
  const total = times.reduce((a, b) => a + b, 0);
  const sorted = [...times].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  console.log(
    `${what}: ${times.length} calls, ${total.toFixed(0)} ms for ${ITEMS} items and ${(bytes / 2 ** 20).toFixed(1)} MB: ` +
      `${((total / ITEMS) * 1000).toFixed(0)} µs/item, ${(total / (bytes / 2 ** 20)).toFixed(0)} ms/MB; ` +
      `per call median ${p(0.5)} ms, p90 ${p(0.9)} ms, max ${p(1)} ms`,
  );
}
const text = outboxText(ITEMS);
const whole = JSON.parse(text) as { orderedItems: unknown[] } & Record<string, unknown>;
const { orderedItems: expectedItems, ...expectedFields } = whole;

describe("readOutboxChunk", () => {
  it.each([1000, 97, 7])(
    "reads a %s-item chunk at a time, resuming from checkpoints, to exactly the items of a full parse",
    async (maxItems) => {
      const { source, entry } = await outboxEntry(await zipWith(text, "deflate"));
      expect(entry.size).toBeGreaterThan(4 * 1024 * 1024);
      const r = await readInChunks(source, entry, { maxItems, maxOutputBytes: Infinity });
      expect(r.items.map((i) => i.index)).toEqual(expectedItems.map((_, i) => i));
      expect(r.items.map((i) => i.item)).toEqual(expectedItems);
      expect(r.fields).toEqual(expectedFields);
      expect(r.times.length).toBe(Math.ceil(ITEMS / maxItems) + (ITEMS % maxItems === 0 ? 1 : 0));
      // Each call re-inflates less than one piece (16 KiB) to reach its checkpoint.
      expect(r.inflated).toBeLessThanOrEqual(entry.size + r.times.length * (16 * 1024 + 258));
      expect(r.largestCheckpoint).toBeLessThan(34 * 1024);
      report(`${maxItems} items a call`, r.times, entry.size);
    },
    120_000,
  );

  it("stops on an output budget, after the first item that ends past it", async () => {
    const { source, entry } = await outboxEntry(await zipWith(text, "deflate"));
    const budget = 256 * 1024;
    const r = await readInChunks(source, entry, { maxItems: Infinity, maxOutputBytes: budget });
    expect(r.items.map((i) => i.item)).toEqual(expectedItems);
    // About entry.size / budget calls, each inflating at most the budget plus a piece and an item.
    expect(r.times.length).toBeGreaterThanOrEqual(Math.ceil(entry.size / (budget + 16 * 1024 + 2048)));
    expect(r.times.length).toBeLessThanOrEqual(Math.ceil(entry.size / budget) + 1);
    report(`${budget / 1024} KiB a call`, r.times, entry.size);
    // The inflating alone (with its CRC-32), for the split between inflate and JSON.
    const t = performance.now();
    const reader = await ResumableEntry.open(source, entry, null);
    while (await reader.read(16 * 1024)) {}
    const ms = performance.now() - t;
    console.log(
      `inflating the same entry alone: ${ms.toFixed(0)} ms, ${(ms / (entry.size / 2 ** 20)).toFixed(0)} ms/MB`,
    );
  }, 60_000);

  it("gives the same items and checkpoint when a chunk is read again after a crash", async () => {
    const { source, entry } = await outboxEntry(await zipWith(text, "deflate"));
    const options = { maxItems: 50, maxOutputBytes: Infinity };
    let rereads = 0;
    const r = await readInChunks(source, entry, options, async (checkpoint) => {
      // The first try's result is lost; the importer runs the chunk again from the same checkpoint.
      const lost = await readOutboxChunk(source, entry, checkpoint, options);
      const again = await readOutboxChunk(source, entry, checkpoint, options);
      expect(again.items).toEqual(lost.items);
      expect(firstDifference(again.checkpoint, lost.checkpoint)).toBe(-1);
      rereads++;
    });
    expect(rereads).toBeGreaterThan(ITEMS / 50);
    expect(r.items.map((i) => i.item)).toEqual(expectedItems);
  }, 120_000);

  it("resumes when the piece size changes between calls (a deploy), skipping across pieces", async () => {
    const { source, entry } = await outboxEntry(await zipWith(text, "deflate"));
    const sizes = [16 * 1024, 300, 64 * 1024, 1000, 5];
    const items: OutboxItem[] = [];
    let checkpoint: Uint8Array | null = null;
    for (let call = 0; ; call++) {
      const options = { maxItems: 40, maxOutputBytes: Infinity, pieceSize: sizes[call % sizes.length] };
      const chunk: Awaited<ReturnType<typeof readOutboxChunk>> = await readOutboxChunk(
        source,
        entry,
        checkpoint,
        options,
      );
      items.push(...chunk.items);
      checkpoint = chunk.checkpoint;
      if (chunk.done) break;
    }
    expect(items.map((i) => i.index)).toEqual(expectedItems.map((_, i) => i));
    expect(items.map((i) => i.item)).toEqual(expectedItems);
  }, 60_000);

  it("reads a stored (uncompressed) outbox.json the same way", async () => {
    const { source: plain, entry } = await outboxEntry(await zipWith(text, "store"));
    expect(entry.method).toBe(0);
    let reads = 0;
    const source = { size: plain.size, read: (o: number, n: number) => (reads++, plain.read(o, n)) };
    const r = await readInChunks(source, entry, { maxItems: 333, maxOutputBytes: Infinity });
    // One ranged read (a subrequest on R2) per 256 KiB and one more per call at most, not one a piece.
    expect(reads).toBeLessThanOrEqual(Math.ceil(entry.size / (256 * 1024)) + r.times.length);
    expect(r.items.map((i) => i.item)).toEqual(expectedItems);
    expect(r.fields).toEqual(expectedFields);
  }, 60_000);

  it("reads the outbox of a Mastodon-shaped archive written by Python's zipfile", async () => {
    const { source, entry } = await outboxEntry(fixtures.mastodonZip);
    const reference = JSON.parse(new TextDecoder().decode(fixtures.outboxJson)).orderedItems;
    const r = await readInChunks(source, entry, { maxItems: 1, maxOutputBytes: Infinity });
    expect(r.items.map((i) => i.item)).toEqual(reference);
  });

  it("returns done and no items when called again after the end", async () => {
    const { source, entry } = await outboxEntry(await zipWith(outboxText(3), "deflate"));
    const r = await readInChunks(source, entry, { maxItems: 10, maxOutputBytes: Infinity });
    const again = await readOutboxChunk(source, entry, r.checkpoint, {
      maxItems: 10,
      maxOutputBytes: Infinity,
    });
    expect(again).toMatchObject({ items: [], done: true });
  });

  it("refuses a checkpoint of another entry, a damaged one, and a CRC-32 that does not match", async () => {
    const { source, entry } = await outboxEntry(await zipWith(text, "deflate"));
    // Far enough in that the checkpoint holds a full 32 KiB window.
    const options = { maxItems: 100, maxOutputBytes: Infinity };
    const first = await readOutboxChunk(source, entry, null, options);
    expect(first.checkpoint.length).toBeGreaterThan(32 * 1024);
    const other = { ...entry, crc32: (entry.crc32 + 1) >>> 0 };
    expect(await failureKind(readOutboxChunk(source, other, first.checkpoint, options))).toBe(
      "bad_checkpoint",
    );
    const damaged = (at: number) => {
      const copy = first.checkpoint.slice();
      copy[at] = (copy[at] as number) ^ 0x55;
      return copy;
    };
    const stateLength = new DataView(first.checkpoint.buffer).getUint32(4, true);
    for (const bad of [
      damaged(0), // the magic
      damaged(8 + 2), // inside the JSON state
      damaged(8 + stateLength + 1), // the entry checkpoint's magic
      first.checkpoint.subarray(0, first.checkpoint.length - 1),
    ]) {
      expect(await failureKind(readOutboxChunk(source, entry, bad, options))).toBe("bad_checkpoint");
    }
    // Damaged window bytes look like any others: the entry's CRC-32 catches them by the end.
    const badWindow = first.checkpoint.slice();
    for (let i = badWindow.length - 32 * 1024; i < badWindow.length; i++) badWindow[i] = 0x20;
    const rest = (async () => {
      let c: Uint8Array = badWindow;
      for (;;) {
        const chunk = await readOutboxChunk(source, entry, c, { maxItems: 1000, maxOutputBytes: Infinity });
        if (chunk.done) return;
        c = chunk.checkpoint;
      }
    })();
    expect(["checksum", "json"]).toContain(await failureKind(rest));
    expect(await failureKind(readInChunks(source, other, { maxItems: 1000, maxOutputBytes: Infinity }))).toBe(
      "checksum",
    );
  }, 60_000);

  it("with itemsBeforeError, hands out the items before a malformed place, then fails there", async () => {
    const broken = text.replace('/statuses/100040/activity","type"', '/statuses/100040/activity" "type"');
    expect(broken).not.toBe(text);
    for (const method of ["deflate", "store"] as const) {
      const { source, entry } = await outboxEntry(await zipWith(broken, method));
      const options = { maxItems: 30, maxOutputBytes: Infinity, itemsBeforeError: true };
      const first = await readOutboxChunk(source, entry, null, options);
      expect(first.items.map((i) => i.index)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      // The broken item is the 41st: this chunk gets the ten before it and stops after them.
      const second = await readOutboxChunk(source, entry, first.checkpoint, options);
      expect(second.items.map((i) => i.index)).toEqual(Array.from({ length: 10 }, (_, i) => 30 + i));
      expect(second.items.map((i) => i.item)).toEqual(expectedItems.slice(30, 40));
      expect(second.done).toBe(false);
      await expect(readOutboxChunk(source, entry, second.checkpoint, options)).rejects.toThrow(
        /malformed JSON at byte \d+ \(line 1, column \d+\)/,
      );
      // Without the option the chunk fails, its items with it.
      expect(
        await failureKind(
          readOutboxChunk(source, entry, first.checkpoint, { ...options, itemsBeforeError: false }),
        ),
      ).toBe("json");
    }
  }, 60_000);
});
