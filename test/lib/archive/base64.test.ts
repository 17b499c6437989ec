/** The checkpoints' base64 agrees with the platform's btoa/atob at every length, and refuses junk. */
import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "../../../worker/lib/archive/base64";
import { failureKind } from "./fixtures";

describe("checkpoint base64", () => {
  it("round-trips and matches btoa for lengths 0 to 300", async () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 73 + n * 11) & 0xff);
      const text = encodeBase64(bytes);
      expect(text).toBe(btoa(String.fromCharCode(...bytes)));
      expect(decodeBase64(text)).toEqual(bytes);
    }
  });

  it("refuses what is not base64", async () => {
    for (const bad of ["abc", "ab$d", "é===", "ab=d"])
      expect(await failureKind(Promise.resolve().then(() => decodeBase64(bad)))).toBe("bad_checkpoint");
  });
});
