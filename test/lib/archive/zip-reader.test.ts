/**
 * The ZIP reader against archives made by Python's zipfile and Info-ZIP's zip (fixtures.ts), and
 * against hostile ones: bombs, lying sizes, traversal names, truncation, bad checksums.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesSource, r2Source, type RandomAccessSource } from "../../../worker/lib/archive/source";
import { findCentralDirectory } from "../../../worker/lib/archive/zip/end-record";
import { readEntriesAt, type DirectoryPosition } from "../../../worker/lib/archive/zip/entries";
import { ZipReader, type ZipEntry } from "../../../worker/lib/archive/zip/reader";
import { failureKind, fixtures, manifest, readAll, sha256 } from "./fixtures";

/** A source that counts its reads, to show entries stream in ranges. */
function countingSource(bytes: Uint8Array): RandomAccessSource & { reads: number[] } {
  const inner = bytesSource(bytes);
  const reads: number[] = [];
  return { size: inner.size, reads, read: (o, l) => (reads.push(l), inner.read(o, l)) };
}

async function allEntries(zip: ZipReader): Promise<ZipEntry[]> {
  const out: ZipEntry[] = [];
  for await (const e of zip.entries()) out.push(e);
  return out;
}

async function expectMembers(bytes: Uint8Array, fixture: string, rangeSize?: number) {
  const zip = await ZipReader.open(bytesSource(bytes));
  const entries = await allEntries(zip);
  const expected = manifest[fixture]!;
  expect(entries.map((e) => e.name)).toEqual(expected.map((m) => m.name));
  for (const [i, entry] of entries.entries()) {
    const body = await readAll(zip.open(entry, { rangeSize }));
    expect(body.length).toBe(expected[i]!.size);
    expect(await sha256(body)).toBe(expected[i]!.sha256);
  }
  return { zip, entries };
}

describe("ZipReader", () => {
  it("lists and reads every member of a Python-made archive, stored and deflated", async () => {
    const { zip, entries } = await expectMembers(fixtures.mastodonZip, "mastodon.zip");
    expect(zip.isZip64).toBe(false);
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(byName["outbox.json"]!.method).toBe(8);
    expect(byName["media_attachments/files/109/000/001/original/abc.png"]!.method).toBe(0);
    expect(byName["media_attachments/"]!.isDirectory).toBe(true);
    expect(byName["notes/ünïcode.txt"]).toBeDefined();
    expect(byName["outbox.json"]!.modified.toISOString()).toBe("2024-05-17T12:30:10.000Z");
  });

  it("reads the same bytes when every range is tiny", async () => {
    await expectMembers(fixtures.mastodonZip, "mastodon.zip", 4096);
  });

  it("reads an entry in ranges of the asked size, never the whole archive", async () => {
    const source = countingSource(fixtures.mastodonZip);
    const zip = await ZipReader.open(source);
    const index = await zip.index();
    source.reads.length = 0;
    const clip = index.get("media_attachments/files/109/000/002/original/clip.mp4")!;
    await readAll(zip.open(clip, { rangeSize: 16 * 1024 }));
    expect(Math.max(...source.reads)).toBe(16 * 1024);
    expect(source.reads.length).toBeGreaterThan(clip.compressedSize / (16 * 1024));
  });

  it("reads a small entry with one ranged read", async () => {
    const source = countingSource(fixtures.mastodonZip);
    const zip = await ZipReader.open(source);
    const index = await zip.index();
    source.reads.length = 0;
    await readAll(zip.open(index.get("actor.json")!));
    expect(source.reads.length).toBe(1);
  });

  it("finds media by any of Mastodon's spellings of the path", async () => {
    const index = await (await ZipReader.open(bytesSource(fixtures.mastodonZip))).index();
    const name = "media_attachments/files/109/000/001/original/abc.png";
    for (const spelling of [
      name,
      `/${name}`,
      `system/${name}`,
      `/system/${name}`,
      `https://old.example/system/${name}`,
    ]) {
      expect(index.get(spelling)?.name).toBe(name);
    }
    expect(index.get("custom_emojis/images/blobcat.png")?.name).toBe(
      "system/custom_emojis/images/blobcat.png",
    );
    expect(index.get("missing.png")).toBeUndefined();
  });

  it("reads Python's ZIP64 structures: markers, extra fields, ZIP64 end record and locator", async () => {
    const { zip, entries } = await expectMembers(fixtures.zip64PythonZip, "zip64-python.zip");
    expect(zip.isZip64).toBe(true);
    expect(zip.entryCount).toBe(4);
    expect(entries[3]!.localHeaderOffset).toBeGreaterThan(1024);
  });

  it("reads a streamed ZIP64 entry with a data descriptor written by Info-ZIP zip", async () => {
    const { entries } = await expectMembers(fixtures.zip64CliZip, "zip64-cli.zip");
    expect(entries[0]!.flags & 8).toBe(8);
  });

  it("walks the directory in slices resumed from positions, to the same entries as one walk", async () => {
    for (const bytes of [fixtures.mastodonZip, fixtures.zip64PythonZip, fixtures.zip64CliZip]) {
      const source = bytesSource(bytes);
      const whole = await allEntries(await ZipReader.open(source));
      const cd = await findCentralDirectory(source);
      const sliced: ZipEntry[] = [];
      let at: DirectoryPosition = { offset: cd.offset, index: 0 };
      for (let slices = 0; at.index < cd.entries; slices++) {
        expect(slices).toBeLessThan(cd.entries);
        let n = 0;
        // A tiny window too: records straddle it.
        for await (const { entry, next } of readEntriesAt(source, cd, at, 64)) {
          sliced.push(entry);
          at = next;
          if (++n === 2) break;
        }
      }
      expect(sliced).toEqual(whole);
      expect(at.offset).toBe(cd.offset + cd.size);
      await expect(readEntriesAt(source, cd, { offset: cd.offset - 1, index: 0 }).next()).rejects.toThrow(
        /outside/,
      );
    }
  });

  it("reads through R2 ranged gets", async () => {
    await env.MEDIA.put("imports/test.zip", fixtures.mastodonZip);
    const zip = await ZipReader.open(await r2Source(env.MEDIA, "imports/test.zip"));
    const entry = (await zip.index()).get("/system/media_attachments/files/109/000/002/original/clip.mp4")!;
    const body = await readAll(zip.open(entry, { rangeSize: 64 * 1024 }));
    const expected = manifest["mastodon.zip"]!.find((m) => m.name === entry.name)!;
    expect(await sha256(body)).toBe(expected.sha256);
  });
});

describe("ZipReader on hostile archives", () => {
  it("refuses a traversal name and an absolute name", async () => {
    for (const bytes of [fixtures.traversalZip, fixtures.absoluteZip]) {
      const zip = await ZipReader.open(bytesSource(bytes));
      expect(await failureKind(allEntries(zip))).toBe("unsafe_name");
    }
  });

  it("refuses to open a bomb whose recorded size is over the cap", async () => {
    const zip = await ZipReader.open(bytesSource(fixtures.bombZip));
    const [entry] = await allEntries(zip);
    expect(entry!.size).toBe(64 << 20);
    expect(() => zip.open(entry!, { maxSize: 1 << 20 })).toThrow(/over the 1048576 allowed/);
  });

  it("stops a bomb that lies about its size just past the lie", async () => {
    const zip = await ZipReader.open(bytesSource(fixtures.bombLyingZip));
    const [entry] = await allEntries(zip);
    expect(entry!.size).toBe(1000);
    const reader = zip.open(entry!).getReader();
    let seen = 0;
    const kind = await failureKind(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          seen += value.length;
        }
      })(),
    );
    expect(kind).toBe("size_mismatch");
    expect(seen).toBeLessThan(1000);
  });

  it("reads the whole 64 MiB bomb when allowed, inflating it in bounded pieces", async () => {
    const zip = await ZipReader.open(bytesSource(fixtures.bombZip));
    const [entry] = await allEntries(zip);
    const reader = zip.open(entry!).getReader();
    let total = 0;
    let largest = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      largest = Math.max(largest, value.length);
    }
    expect(total).toBe(64 << 20);
    expect(largest).toBeLessThanOrEqual(64 * 1024);
    // ~5 s on a quiet machine (the timer ticks of inflate.ts): the default 5 s made it flaky.
  }, 30_000);

  it("fails with a checksum error when a byte of stored data changes", async () => {
    const bytes = fixtures.mastodonZip.slice();
    const zip = await ZipReader.open(bytesSource(bytes));
    const entry = (await zip.index()).get("media_attachments/files/109/000/001/original/abc.png")!;
    const at = entry.localHeaderOffset + 30 + entry.name.length + 100;
    bytes[at] = bytes[at]! ^ 0xff;
    expect(await failureKind(readAll(zip.open(entry)))).toBe("checksum");
  });

  it("fails with a typed error when deflated data is damaged", async () => {
    const bytes = fixtures.mastodonZip.slice();
    const zip = await ZipReader.open(bytesSource(bytes));
    const entry = (await zip.index()).get("media_attachments/files/109/000/002/original/clip.mp4")!;
    const start = entry.localHeaderOffset + 30 + entry.name.length;
    bytes.fill(0xff, start + 10, start + 200);
    expect(["corrupt", "checksum", "size_mismatch", "truncated"]).toContain(
      await failureKind(readAll(zip.open(entry))),
    );
  });

  it("says bad_magic for something that is not a ZIP", async () => {
    expect(await failureKind(ZipReader.open(bytesSource(fixtures.outboxJson)))).toBe("bad_magic");
    expect(await failureKind(ZipReader.open(bytesSource(new Uint8Array(5))))).toBe("bad_magic");
  });

  it("says truncated or bad_magic for an archive cut anywhere", async () => {
    const bytes = fixtures.zip64PythonZip;
    for (const cut of [10, 100, bytes.length / 2, bytes.length - 30, bytes.length - 1]) {
      const kind = await failureKind(
        (async () => {
          const zip = await ZipReader.open(bytesSource(bytes.subarray(0, Math.floor(cut))));
          for await (const e of zip.entries()) await readAll(zip.open(e));
        })(),
      );
      expect(["truncated", "bad_magic", "corrupt"]).toContain(kind);
    }
  });

  it("refuses an end record that claims more entries than its directory can hold", async () => {
    const bytes = fixtures.mastodonZip.slice();
    const eocd = bytes.length - 22;
    new DataView(bytes.buffer).setUint16(eocd + 10, 60000, true);
    expect(await failureKind(ZipReader.open(bytesSource(bytes)))).toBe("corrupt");
  });

  it("refuses a directory offset that points past the end", async () => {
    const bytes = fixtures.mastodonZip.slice();
    new DataView(bytes.buffer).setUint32(bytes.length - 22 + 16, bytes.length + 5, true);
    expect(await failureKind(ZipReader.open(bytesSource(bytes)))).toBe("truncated");
  });

  it("refuses an entry whose local header names another file", async () => {
    const bytes = fixtures.mastodonZip.slice();
    const zip = await ZipReader.open(bytesSource(bytes));
    const entry = (await zip.index()).get("actor.json")!;
    bytes[entry.localHeaderOffset + 30] = "X".charCodeAt(0);
    expect(await failureKind(readAll(zip.open(entry)))).toBe("corrupt");
  });
});
