/**
 * tarGzToZipPiece over the tar.gz fixtures Python's tarfile wrote (PAX and GNU long names): the ZIP its
 * pieces make, read back by ZipReader, holds each recorded member with its bytes; the bytes are the
 * same however the walk is cut into pieces, and a piece repeated from the same state is the same
 * piece (what a crash before the state is saved amounts to). Hostile and damaged archives fail typed.
 */
import { describe, expect, it } from "vitest";
import { concat } from "../../../worker/lib/archive/bytes";
import { bytesSource } from "../../../worker/lib/archive/source";
import { initialToZipState, tarGzToZipPiece, type ToZipState } from "../../../worker/lib/archive/tar/to-zip";
import { ZipReader } from "../../../worker/lib/archive/zip/reader";
import { tarGzOf } from "../../services/archive-import/archive";
import { failureKind, fixtures, manifest, readAll, sha256 } from "./fixtures";

async function convert(tarGz: Uint8Array, budget: number, repeatEvery = 0) {
  const source = bytesSource(tarGz);
  let state: ToZipState = initialToZipState();
  const entries: Uint8Array[] = [];
  const directory: Uint8Array[] = [];
  const skipped: { name: string; reason: string }[] = [];
  let steps = 0;
  while (!state.ended) {
    const piece = await tarGzToZipPiece(source, state, budget);
    if (repeatEvery && steps % repeatEvery === 0) {
      // The state was "lost": the same step again gives the same bytes and state.
      const again = await tarGzToZipPiece(source, state, budget);
      expect(concat(again.entries)).toEqual(concat(piece.entries));
      expect(concat(again.directory)).toEqual(concat(piece.directory));
      expect(again.state).toEqual(piece.state);
    }
    entries.push(...piece.entries.map((b) => b.slice()));
    directory.push(...piece.directory);
    skipped.push(...piece.skipped);
    state = piece.state;
    steps++;
  }
  return { zip: concat([...entries, ...directory]), steps, skipped, state };
}

async function members(zip: Uint8Array) {
  const reader = await ZipReader.open(bytesSource(zip));
  const out: { name: string; size: number; sha256: string }[] = [];
  for await (const e of reader.entries()) {
    expect(e.method).toBe(0);
    const data = await readAll(reader.open(e));
    out.push({ name: e.name, size: data.length, sha256: await sha256(data) });
  }
  return out;
}

describe("tarGzToZipPiece", () => {
  it.each([
    ["mastodon-pax.tar.gz", fixtures.paxTarGz],
    ["mastodon-gnu.tar.gz", fixtures.gnuTarGz],
  ] as const)("%s becomes a ZIP of the recorded members, in pieces of any size", async (name, bytes) => {
    const expected = manifest[name]!.map((m) => ({ name: m.name, size: m.size, sha256: m.sha256 }));
    const whole = await convert(bytes, 1 << 30);
    expect(whole.steps).toBe(1);
    expect(await members(whole.zip)).toEqual(expected);
    const pieces = await convert(bytes, 700, 3);
    expect(pieces.steps).toBeGreaterThan(10);
    expect(pieces.zip).toEqual(whole.zip);
    expect(pieces.state.walked).toBe(bytes.length);
    // The fixture's symbolic link is left out, and said so.
    expect(pieces.skipped).toEqual([
      { name: "link-to-long", reason: expect.stringMatching(/^a symbolic link \(to "media_attachments/) },
    ]);
  });

  it("keeps dates, passes over directories, and keeps both members of one name (the index takes the first)", async () => {
    const tarGz = await tarGzOf({
      "media_attachments/": { type: "directory" },
      "a.txt": { data: "first", mtime: Date.UTC(2021, 4, 6, 7, 8, 10) / 1000 },
      "b.txt": "bee",
      "./a.txt": "second",
    });
    const { zip, skipped } = await convert(tarGz, 100);
    expect(skipped).toEqual([]);
    const reader = await ZipReader.open(bytesSource(zip));
    const names: string[] = [];
    for await (const e of reader.entries()) names.push(e.name);
    expect(names).toEqual(["a.txt", "b.txt", "a.txt"]);
    const index = await reader.index();
    const a = index.get("a.txt")!;
    expect(new TextDecoder().decode(await readAll(reader.open(a)))).toBe("first");
    expect(a.modified.toISOString()).toBe("2021-05-06T07:08:10.000Z");
  });

  it("refuses a name that escapes the archive, a truncated archive and a damaged one", async () => {
    expect(await failureKind(convert(fixtures.traversalTarGz, 1 << 20))).toBe("unsafe_name");
    const absolute = await tarGzOf({ "/etc/passwd": "root" });
    expect(await failureKind(convert(absolute, 1 << 20))).toBe("unsafe_name");
    const truncated = fixtures.paxTarGz.slice(0, fixtures.paxTarGz.length - 300);
    expect(await failureKind(convert(truncated, 2000))).toBe("truncated");
    const notTar = new Uint8Array(
      await new Response(
        new Blob([new Uint8Array(2048).fill(7)]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    expect(await failureKind(convert(notTar, 1 << 20))).toBe("bad_magic");
  });
});
