/**
 * TarGzWalker over tar.gz files Python's tarfile and gzip wrote: walked straight through, and walked
 * with a new walker opened from the checkpoint after every step (every header and every body piece),
 * both give each member's name, size and SHA-256 as recorded by the script that made them.
 */
import { describe, expect, it } from "vitest";
import { concat } from "../../../worker/lib/archive/bytes";
import { bytesSource } from "../../../worker/lib/archive/source";
import { TarGzWalker, type WalkOptions } from "../../../worker/lib/archive/tar/walker";
import { deflateFixtures, fromBase64, sha256Hex } from "./deflate/helpers";
import { failureKind, fixtures, manifest } from "./fixtures";

type Seen = { name: string; size: number; sha256: string };

/** Walks the archive; `reopen` makes every step start from a fresh walker and the last checkpoint. */
async function walk(bytes: Uint8Array, reopen: boolean, body: number, options: WalkOptions = {}) {
  const source = bytesSource(bytes);
  let walker = await TarGzWalker.open(source, null, options);
  let checkpoints = 0;
  let largest = 0;
  const step = async () => {
    if (!reopen) return;
    const c = walker.checkpoint();
    largest = Math.max(largest, c.length);
    checkpoints++;
    walker = await TarGzWalker.open(source, c, options);
  };
  const seen: Seen[] = [];
  // As an importer would: members up to `done` are copied, so a restored current member may be one.
  let done = -1;
  for (;;) {
    await step();
    let member = walker.member;
    if (!member || member.index <= done) member = await walker.next();
    if (!member) break;
    const parts: Uint8Array[] = [];
    for (;;) {
      await step();
      const piece = await walker.readBody(body);
      if (!piece) break;
      parts.push(piece.slice());
    }
    done = member.index;
    if (member.type !== "file") continue;
    const data = concat(parts);
    seen.push({ name: member.name, size: data.length, sha256: await sha256Hex(data) });
  }
  return { seen, checkpoints, largest };
}

const big = deflateFixtures.tarGz;

describe("TarGzWalker", () => {
  it.each([
    ["mastodon-pax.tar.gz", fixtures.paxTarGz, manifest["mastodon-pax.tar.gz"]!],
    ["mastodon-gnu.tar.gz", fixtures.gnuTarGz, manifest["mastodon-gnu.tar.gz"]!],
    ["a tar.gz of several blocks", fromBase64(big.b64), big.members],
  ] as const)(
    "%s: walked straight or resumed at every step, gives the recorded members",
    async (_n, bytes, members) => {
      const expected = members.map((m) => ({ name: m.name, size: m.size, sha256: m.sha256 }));
      expect((await walk(bytes, false, 64 * 1024)).seen).toEqual(expected);
      const resumed = await walk(bytes, true, 7_000, { pieceSize: 5_000 });
      expect(resumed.seen).toEqual(expected);
      expect(resumed.checkpoints).toBeGreaterThan(members.length * 2);
      expect(resumed.largest).toBeLessThan(34 * 1024);
    },
    60_000,
  );

  it("returns no member after the end, from the end's checkpoint too", async () => {
    const source = bytesSource(fixtures.paxTarGz);
    const walker = await TarGzWalker.open(source, null);
    while (await walker.next()) {}
    const again = await TarGzWalker.open(source, walker.checkpoint());
    expect(await again.next()).toBeNull();
  });

  it("refuses damaged checkpoints and a damaged archive with typed errors", async () => {
    const bytes = fromBase64(big.b64);
    const source = bytesSource(bytes);
    const walker = await TarGzWalker.open(source, null, { pieceSize: 5000 });
    await walker.next();
    await walker.readBody(10_000);
    const c = walker.checkpoint();
    for (const at of [0, 20]) {
      const bad = c.slice();
      bad[at] = (bad[at] as number) ^ 0x55;
      expect(await failureKind(TarGzWalker.open(source, bad))).toBe("bad_checkpoint");
    }
    expect(await failureKind(TarGzWalker.open(source, c.subarray(0, c.length - 5)))).toBe("bad_checkpoint");
    const damaged = bytes.slice();
    damaged[damaged.length - 8] = (damaged[damaged.length - 8] as number) ^ 1; // the gzip CRC-32
    expect(await failureKind(walk(damaged, false, 64 * 1024))).toBe("checksum");
  });
});
