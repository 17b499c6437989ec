/**
 * ResumableGunzip against gzip files Python's gzip module (and a hand-built header with every optional
 * field) wrote, resumed at every piece, and against damaged headers and trailers.
 */
import { describe, expect, it } from "vitest";
import {
  decodeInflateCheckpoint,
  encodeInflateCheckpoint,
} from "../../../../worker/lib/archive/deflate/checkpoint";
import { ResumableGunzip } from "../../../../worker/lib/archive/deflate/gzip";
import { concat } from "../../../../worker/lib/archive/bytes";
import { bytesSource } from "../../../../worker/lib/archive/source";
import { failureKind } from "../fixtures";
import {
  deflateFixtures,
  firstDifference,
  fromBase64,
  platformDeflate,
  platformInflate,
  pseudoText,
  sha256Hex,
} from "./helpers";

async function gunzipAll(bytes: Uint8Array, piece = 32 * 1024): Promise<Uint8Array> {
  const gz = await ResumableGunzip.open(bytesSource(bytes), null);
  const parts: Uint8Array[] = [];
  for (let p = await gz.read(piece); p; p = await gz.read(piece)) parts.push(p.slice());
  return concat(parts);
}

const gzipFixtures = Object.entries(deflateFixtures.streams).filter(([name]) => name.startsWith("gzip"));

describe("ResumableGunzip", () => {
  it.each(gzipFixtures)(
    "%s: inflates to the bytes gzip was given, resuming at every piece",
    async (_name, f) => {
      const bytes = fromBase64(f.b64);
      const whole = await gunzipAll(bytes);
      expect(await sha256Hex(whole)).toBe(f.sha256);
      const gz = await ResumableGunzip.open(bytesSource(bytes), null);
      for (let p = await gz.read(10_000); p; p = await gz.read(10_000)) {
        const c = gz.checkpoint();
        const from = {
          dataStart: c.dataStart,
          inflate: decodeInflateCheckpoint(encodeInflateCheckpoint(c.inflate)),
        };
        const resumed = await ResumableGunzip.open(bytesSource(bytes), from);
        const parts: Uint8Array[] = [];
        for (let q = await resumed.read(); q; q = await resumed.read()) parts.push(q.slice());
        expect(firstDifference(concat(parts), whole.subarray(c.inflate.total))).toBe(-1);
      }
    },
  );

  it("gives what DecompressionStream gives for a large gzip file CompressionStream wrote", async () => {
    const data = pseudoText(3 * 1024 * 1024, 9);
    const packed = await platformDeflate(data, "gzip");
    expect(firstDifference(await gunzipAll(packed), await platformInflate(packed, "gzip"))).toBe(-1);
  }, 30_000);

  it("fails with a typed error on damaged headers and trailers", async () => {
    const good = fromBase64(deflateFixtures.streams["gzip: every header field"]!.b64);
    const edit = (at: number, value: number) => {
      const b = good.slice();
      b[at < 0 ? b.length + at : at] = value;
      return b;
    };
    const kind = (b: Uint8Array) => failureKind(gunzipAll(b));
    expect(await kind(edit(1, 0x8c))).toBe("bad_magic");
    expect(await kind(edit(2, 7))).toBe("unsupported");
    expect(await kind(edit(3, good[3]! | 0x80))).toBe("corrupt"); // a reserved flag
    expect(await kind(edit(14, 0x42))).toBe("corrupt"); // inside FEXTRA: the header CRC differs
    expect(await kind(edit(-8, good.at(-8)! ^ 1))).toBe("checksum");
    expect(await kind(edit(-4, good.at(-4)! ^ 1))).toBe("size_mismatch");
    expect(await kind(good.subarray(0, good.length - 3))).toBe("truncated");
    expect(await kind(good.subarray(0, 12))).toBe("truncated");
    expect(await kind(concat([good, good]))).toBe("unsupported"); // a second member
  });
});
