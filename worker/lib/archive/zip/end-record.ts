/**
 * Finding a ZIP's central directory from its end: the End of Central Directory record (searched for in
 * the last 64 KB + 22 bytes, since a comment may follow it) and, when a ZIP64 locator sits just before
 * it, the ZIP64 EOCD, whose 64-bit count, size and offset then win (APPNOTE 4.3.14-4.3.16). One ranged
 * read covers the tail; a second reads the ZIP64 record when it is elsewhere.
 *
 * Limits: one disk only; no data prepended to the archive (self-extractors): the central directory
 * must end where the end records begin.
 */
import { u16, u32, u64 } from "../bytes";
import { badMagic, corrupt, truncated, unsupported } from "../errors";
import type { RandomAccessSource } from "../source";
import {
  CENTRAL_SIZE,
  EOCD64_SIZE,
  EOCD_SIZE,
  LOCATOR64_SIZE,
  MAX_U16,
  MAX_U32,
  SIG_EOCD,
  SIG_EOCD64,
  SIG_LOCATOR64,
} from "./format";

export interface CentralDirectory {
  offset: number;
  size: number;
  entries: number;
  zip64: boolean;
  comment: Uint8Array;
}

export async function findCentralDirectory(source: RandomAccessSource): Promise<CentralDirectory> {
  if (source.size < EOCD_SIZE) throw badMagic("not a ZIP archive: too short for an end record");
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_U16 + LOCATOR64_SIZE);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);

  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw badMagic("not a ZIP archive: no end of central directory record");

  const disk = u16(tail, at + 4);
  const cdDisk = u16(tail, at + 6);
  let entries = u16(tail, at + 10);
  let size = u32(tail, at + 12);
  let offset = u32(tail, at + 16);
  const comment = tail.slice(at + EOCD_SIZE, at + EOCD_SIZE + u16(tail, at + 20));
  let end = tailStart + at;
  let zip64 = false;

  const loc = at - LOCATOR64_SIZE;
  if (loc >= 0 && u32(tail, loc) === SIG_LOCATOR64) {
    zip64 = true;
    const recordAt = u64(tail, loc + 8, "ZIP64 end record offset");
    if (u32(tail, loc + 4) !== 0 || u32(tail, loc + 16) > 1) throw unsupported("multi-disk ZIP archive");
    if (recordAt + EOCD64_SIZE > tailStart + loc) throw corrupt("ZIP64 end record points past its locator");
    const rec =
      recordAt >= tailStart
        ? tail.subarray(recordAt - tailStart, recordAt - tailStart + EOCD64_SIZE)
        : await source.read(recordAt, EOCD64_SIZE);
    if (u32(rec, 0) !== SIG_EOCD64) throw corrupt("ZIP64 locator does not point at a ZIP64 end record");
    if (u32(rec, 16) !== 0 || u32(rec, 20) !== 0) throw unsupported("multi-disk ZIP archive");
    entries = u64(rec, 32, "ZIP64 entry count");
    size = u64(rec, 40, "ZIP64 central directory size");
    offset = u64(rec, 48, "ZIP64 central directory offset");
    end = recordAt;
  } else {
    if (disk !== 0 || cdDisk !== 0) throw unsupported("multi-disk ZIP archive");
    if (entries === MAX_U16 || size === MAX_U32 || offset === MAX_U32) {
      throw corrupt("end record says ZIP64 but there is no ZIP64 locator");
    }
  }

  if (offset + size > end) {
    throw offset + size > source.size
      ? truncated("ZIP central directory")
      : corrupt("ZIP central directory overlaps the end records");
  }
  if (entries * CENTRAL_SIZE > size)
    throw corrupt(`ZIP end record claims ${entries} entries in ${size} bytes`);
  return { offset, size, entries, zip64, comment };
}
