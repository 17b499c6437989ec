import { describe, expect, it } from "vitest";
import { crc32 } from "../../../worker/lib/archive/crc32";

describe("crc32", () => {
  it("gives the published check value for 123456789", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("gives 0 for no bytes and continues across any split", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    const bytes = crypto.getRandomValues(new Uint8Array(1000));
    const whole = crc32(bytes);
    for (const cut of [0, 1, 3, 4, 5, 511, 999]) {
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(whole);
    }
  });

  it("agrees with the one-table bitwise definition on random data", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(4099));
    let c = 0xffffffff;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    expect(crc32(bytes)).toBe(~c >>> 0);
  });
});
