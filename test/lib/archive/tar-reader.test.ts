/**
 * The tar reader against archives made by Python's tarfile (PAX, GNU and ustar formats, gzipped or
 * not; fixtures.ts) and against damaged and hostile ones.
 */
import { describe, expect, it } from "vitest";
import { readTar, type TarEntry, type TarOptions } from "../../../worker/lib/archive/tar/reader";
import { chunked, failureKind, fixtures, manifest, readAll, sha256 } from "./fixtures";

type Seen = { index: number; name: string; type: string; size: number; linkName: string; sha?: string };

async function collect(
  bytes: Uint8Array,
  options?: TarOptions & { chunk?: number; read?: (e: TarEntry) => boolean },
) {
  const seen: Seen[] = [];
  for await (const e of readTar(chunked(bytes, options?.chunk ?? 64 * 1024), options)) {
    const s: Seen = { index: e.index, name: e.name, type: e.type, size: e.size, linkName: e.linkName };
    if (options?.read?.(e) ?? true) s.sha = await sha256(await readAll(e.body));
    seen.push(s);
  }
  return seen;
}

function expectFiles(seen: Seen[], fixture: string) {
  const files = seen.filter((s) => s.type === "file");
  expect(files.map((f) => [f.name, f.size, f.sha])).toEqual(
    manifest[fixture]!.map((m) => [m.name, m.size, m.sha256]),
  );
}

/** A ustar header block built by hand, for records no tool would write. */
function header(name: string, size: number, typeflag: string): Uint8Array {
  const b = new Uint8Array(512);
  const put = (at: number, s: string) => b.set(new TextEncoder().encode(s), at);
  put(0, name);
  put(100, "0000644\0");
  put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, "00000000000\0");
  put(148, "        ");
  put(156, typeflag);
  put(257, "ustar\u000000");
  put(
    148,
    b
      .reduce((a, x) => a + x, 0)
      .toString(8)
      .padStart(6, "0") + "\0 ",
  );
  return b;
}

describe("readTar", () => {
  it("reads a Python PAX-format tar.gz: long names and link names from PAX records", async () => {
    const seen = await collect(fixtures.paxTarGz);
    expectFiles(seen, "mastodon-pax.tar.gz");
    const longName = manifest["mastodon-pax.tar.gz"]![2]!.name;
    expect(longName.length).toBeGreaterThan(100);
    expect(seen[0]).toMatchObject({ name: "media_attachments/", type: "directory" });
    expect(seen.at(-1)).toMatchObject({ name: "link-to-long", type: "symlink", linkName: longName });
  });

  it("reads a Python GNU-format tar.gz: long names from 'L' and 'K' records", async () => {
    const seen = await collect(fixtures.gnuTarGz);
    expectFiles(seen, "mastodon-gnu.tar.gz");
    expect(seen.at(-1)!.linkName).toBe(manifest["mastodon-gnu.tar.gz"]![2]!.name);
  });

  it("joins a ustar name prefix, with headers split across 7-byte chunks", async () => {
    const seen = await collect(fixtures.ustarTar, { chunk: 7 });
    expectFiles(seen, "ustar.tar");
    expect(seen.some((s) => s.name === "a".repeat(90) + "/" + "b".repeat(90) + ".txt")).toBe(true);
  });

  it("takes the size from a PAX record when the ustar field holds 0, as for files past 8 GiB", async () => {
    expectFiles(await collect(fixtures.paxSizeTar), "pax-size.tar");
  });

  it("skips the bodies a consumer leaves unread", async () => {
    const seen = await collect(fixtures.paxTarGz, { read: (e) => e.index % 2 === 0 });
    const all = await collect(fixtures.paxTarGz);
    expect(seen.map((s) => s.name)).toEqual(all.map((s) => s.name));
    for (const s of seen) if (s.sha) expect(s.sha).toBe(all[s.index]!.sha);
  });

  it("resumes after n entries with the same entries as a full read", async () => {
    const all = await collect(fixtures.gnuTarGz);
    for (const n of [0, 1, 4, all.length - 1, all.length]) {
      expect(await collect(fixtures.gnuTarGz, { skipEntries: n })).toEqual(all.slice(n));
    }
  });

  it("refuses to let a body be read after moving to the next entry", async () => {
    const iterator = readTar(chunked(fixtures.ustarTar, 4096));
    const first = (await iterator.next()).value as TarEntry;
    const second = (await iterator.next()).value as TarEntry;
    expect(second.index).toBe(1);
    expect(await failureKind(readAll(first.body))).toBe("corrupt");
    await iterator.return(undefined);
  });

  it("refuses a traversal name", async () => {
    expect(await failureKind(collect(fixtures.traversalTarGz))).toBe("unsafe_name");
  });

  it("says truncated for a tar or tar.gz cut short", async () => {
    for (const bytes of [fixtures.paxTarGz, fixtures.ustarTar]) {
      for (const cut of [600, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2)]) {
        expect(await failureKind(collect(bytes.subarray(0, cut)))).toBe("truncated");
      }
    }
  });

  it("says bad_magic for something that is not a tar", async () => {
    expect(await failureKind(collect(fixtures.outboxJson))).toBe("bad_magic");
  });

  it("says corrupt when a later header's checksum fails", async () => {
    const bytes = fixtures.ustarTar.slice();
    bytes[512 + 5] = bytes[512 + 5]! ^ 1; // the second header's name
    expect(await failureKind(collect(bytes))).toBe("corrupt");
  });

  it("refuses a PAX header larger than the cap without reading it", async () => {
    const bytes = new Uint8Array([...header("PaxHeader", 5 << 20, "x"), ...new Uint8Array(1024)]);
    expect(await failureKind(collect(bytes))).toBe("too_large");
  });

  it("refuses an entry over the size cap", async () => {
    expect(await failureKind(collect(fixtures.ustarTar, { maxEntrySize: 100 }))).toBe("too_large");
  });

  it("says corrupt for a PAX record with a lying length", async () => {
    const record = new TextEncoder().encode("99 path=x\n");
    const body = new Uint8Array(512);
    body.set(record);
    const bytes = new Uint8Array([
      ...header("PaxHeader", record.length, "x"),
      ...body,
      ...new Uint8Array(1024),
    ]);
    expect(await failureKind(collect(bytes))).toBe("corrupt");
  });
});
