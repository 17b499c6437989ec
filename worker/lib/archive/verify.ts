/**
 * The check at the end of every entry stream: counts the bytes and their CRC-32 as they pass, fails as
 * soon as the count passes the expected size (so a lying size or a zip bomb stops at the cap, not at
 * the end), and at the end fails unless both match.
 */
import { crc32 } from "./crc32";
import { ArchiveError } from "./errors";

export function verified(
  expected: { size: number; crc32: number | null },
  label: string,
): TransformStream<Uint8Array, Uint8Array> {
  let count = 0;
  let crc = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      count += chunk.length;
      if (count > expected.size) {
        throw new ArchiveError("size_mismatch", `${label}: more than the recorded ${expected.size} bytes`);
      }
      if (expected.crc32 !== null) crc = crc32(chunk, crc);
      controller.enqueue(chunk);
    },
    flush() {
      if (count !== expected.size) {
        throw new ArchiveError("size_mismatch", `${label}: ${count} bytes, ${expected.size} recorded`);
      }
      if (expected.crc32 !== null && crc !== expected.crc32) {
        throw new ArchiveError("checksum", `${label}: CRC-32 ${hex(crc)}, ${hex(expected.crc32)} recorded`);
      }
    },
  });
}

const hex = (n: number) => n.toString(16).padStart(8, "0");
