/**
 * The ZIP writer, read back by the ZIP reader (the check against Python's zipfile and Info-ZIP unzip
 * is scripts/archive-zip-interop.mjs, which needs those tools), and the part-batching sinks, including
 * a real multipart upload to the test R2 bucket.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  MIN_PART_SIZE,
  partSink,
  r2MultipartSink,
  writableSink,
  type ByteSink,
} from "../../../worker/lib/archive/sink";
import { bytesSource, r2Source } from "../../../worker/lib/archive/source";
import { ZipReader } from "../../../worker/lib/archive/zip/reader";
import { ZipWriter } from "../../../worker/lib/archive/zip/writer";
import { chunked, failureKind, readAll, sha256 } from "./fixtures";

function memorySink(): ByteSink & { bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write: async (c) => void parts.push(c.slice()),
    close: async () => {},
    bytes: () => new Uint8Array(parts.flatMap((p) => [...p])),
  };
}

function pseudoRandom(n: number, seed: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) % alphabet;
  }
  return out;
}

const when = new Date("2024-05-17T12:30:10Z");
const members = () => [
  { name: "outbox.json", data: new TextEncoder().encode('{"orderedItems":[]}'), method: "deflate" as const },
  { name: "media_attachments/", data: new Uint8Array(0), method: "store" as const },
  { name: "media_attachments/a.png", data: pseudoRandom(70_000, 1), method: "store" as const },
  { name: "media_attachments/clip.mp4", data: pseudoRandom(3_000_000, 2, 16), method: "deflate" as const },
  { name: "notes/ünïcode.txt", data: new TextEncoder().encode("ünïcode ✓"), method: "deflate" as const },
  { name: "empty.txt", data: new Uint8Array(0), method: "deflate" as const },
];

async function writeAll(sink: ByteSink, forceZip64 = false) {
  const zip = new ZipWriter(sink, { forceZip64 });
  for (const m of members())
    await zip.add(m.name, chunked(m.data, 50_000), { method: m.method, modified: when });
  return zip.finish();
}

async function expectReadBack(bytes: Uint8Array, zip64: boolean) {
  const zip = await ZipReader.open(bytesSource(bytes));
  expect(zip.isZip64).toBe(zip64);
  const entries = [];
  for await (const e of zip.entries()) entries.push(e);
  const expected = members();
  expect(entries.map((e) => e.name)).toEqual(expected.map((m) => m.name));
  for (const [i, e] of entries.entries()) {
    const m = expected[i]!;
    expect(e.method).toBe(m.method === "store" ? 0 : 8);
    expect(e.modified).toEqual(when);
    expect(await sha256(await readAll(zip.open(e)))).toBe(await sha256(m.data));
  }
  return entries;
}

describe("ZipWriter", () => {
  it("writes stored and deflated entries from streams that its reader reads back", async () => {
    const sink = memorySink();
    const { size, entries } = await writeAll(sink);
    const bytes = sink.bytes();
    expect(size).toBe(bytes.length);
    expect(entries).toBe(6);
    const read = await expectReadBack(bytes, false);
    const clip = read.find((e) => e.name.endsWith("clip.mp4"))!;
    expect(clip.compressedSize).toBeLessThan(clip.size * 0.6);
  });

  it("writes ZIP64 local fields, extra fields and end records when asked", async () => {
    const sink = memorySink();
    await writeAll(sink, true);
    await expectReadBack(sink.bytes(), true);
  });

  it("switches to a ZIP64 end record past 65,535 entries", { timeout: 60_000 }, async () => {
    const sink = memorySink();
    const zip = new ZipWriter(sink);
    const empty = new Uint8Array(0);
    for (let i = 0; i < 65_540; i++) await zip.add(`m/${i}`, empty, { method: "store", modified: when });
    await zip.finish();
    const reader = await ZipReader.open(bytesSource(sink.bytes()));
    expect(reader.isZip64).toBe(true);
    expect(reader.entryCount).toBe(65_540);
    let last = "";
    let n = 0;
    for await (const e of reader.entries()) {
      last = e.name;
      n++;
    }
    expect([n, last]).toEqual([65_540, "m/65539"]);
  });

  it("refuses unsafe names and a directory with data", async () => {
    const zip = new ZipWriter(memorySink());
    expect(await failureKind(zip.add("../x", new Uint8Array(1)))).toBe("unsafe_name");
    expect(await failureKind(zip.add("/abs", new Uint8Array(1)))).toBe("unsafe_name");
    expect(await failureKind(zip.add("dir/", new Uint8Array(1)))).toBe("unsupported");
  });

  it("gives a WritableStream the same bytes", async () => {
    const a = memorySink();
    await writeAll(a);
    const chunks: Uint8Array[] = [];
    await writeAll(writableSink(new WritableStream({ write: (c) => void chunks.push(c.slice()) })));
    expect(await sha256(new Uint8Array(chunks.flatMap((c) => [...c])))).toBe(await sha256(a.bytes()));
  });
});

describe("partSink", () => {
  it("cuts writes of any size into equal parts, the last one shorter", async () => {
    const parts: [number, number][] = [];
    const joined: Uint8Array[] = [];
    const sink = partSink(async (n, bytes) => {
      parts.push([n, bytes.length]);
      joined.push(bytes.slice());
    }, MIN_PART_SIZE);
    const data = pseudoRandom(12 * 1024 * 1024 + 7, 3);
    for (let at = 0; at < data.length; at += 777_777) await sink.write(data.subarray(at, at + 777_777));
    await sink.close();
    expect(parts).toEqual([
      [1, MIN_PART_SIZE],
      [2, MIN_PART_SIZE],
      [3, data.length - 2 * MIN_PART_SIZE],
    ]);
    expect(await sha256(new Uint8Array(joined.flatMap((c) => [...c])))).toBe(await sha256(data));
  });

  it("refuses parts under R2's 5 MiB minimum", () => {
    expect(() => partSink(async () => {}, MIN_PART_SIZE - 1)).toThrow(/at least/);
  });

  it(
    "streams an archive into an R2 multipart upload that reads back as a ZIP",
    { timeout: 60_000 },
    async () => {
      const upload = await env.MEDIA.createMultipartUpload("exports/test.zip");
      const sink = r2MultipartSink(upload, MIN_PART_SIZE);
      const zip = new ZipWriter(sink);
      const big = pseudoRandom(11 * 1024 * 1024, 4);
      await zip.add("media/big.bin", chunked(big, 1 << 20), { method: "store" });
      await zip.add("outbox.json", new TextEncoder().encode("{}"));
      await zip.finish();
      await sink.complete();
      expect(sink.parts.length).toBe(3);
      const reader = await ZipReader.open(await r2Source(env.MEDIA, "exports/test.zip"));
      const index = await reader.index();
      expect(await sha256(await readAll(reader.open(index.get("media/big.bin")!)))).toBe(await sha256(big));
    },
  );
});
