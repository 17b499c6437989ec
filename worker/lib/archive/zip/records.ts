/**
 * The bytes of a ZIP's records for entries whose CRC-32 and sizes follow their data (flag 3, a data
 * descriptor): the local header, the descriptor, the central directory record and the end records,
 * ZIP64 where a size, offset or count needs it (APPNOTE 4.3.7-4.3.16, 4.5.3). Shared by the streaming
 * ZipWriter (writer.ts) and the tar.gz converter of the archive import, which builds its ZIP across
 * many invocations and so cannot hold a writer open.
 */
import { putU16, putU32, putU64 } from "../bytes";
import {
  CENTRAL_SIZE,
  EOCD64_SIZE,
  EOCD_SIZE,
  EXTRA_ZIP64,
  FLAG_DESCRIPTOR,
  FLAG_UTF8,
  LOCAL_SIZE,
  LOCATOR64_SIZE,
  MAX_U16,
  MAX_U32,
  SIG_CENTRAL,
  SIG_DESCRIPTOR,
  SIG_EOCD,
  SIG_EOCD64,
  SIG_LOCAL,
  SIG_LOCATOR64,
} from "./format";

/** What the central directory says of one entry. */
export interface EntryRecord {
  name: Uint8Array;
  method: number;
  dos: { date: number; time: number };
  crc: number;
  size: number;
  compressedSize: number;
  /** Offset of the entry's local header in the archive. */
  offset: number;
  /** The local header carries a ZIP64 extra field and the descriptor 8-byte sizes. */
  zip64: boolean;
  directory: boolean;
}

/** The local header of an entry whose CRC and sizes come in its data descriptor. */
export function localHeader(
  name: Uint8Array,
  method: number,
  dos: { date: number; time: number },
  zip64: boolean,
): Uint8Array {
  const header = new Uint8Array(LOCAL_SIZE + name.length + (zip64 ? 20 : 0));
  putU32(header, 0, SIG_LOCAL);
  putU16(header, 4, zip64 ? 45 : 20);
  putU16(header, 6, FLAG_DESCRIPTOR | FLAG_UTF8);
  putU16(header, 8, method);
  putU16(header, 10, dos.time);
  putU16(header, 12, dos.date);
  // CRC and sizes follow in the data descriptor; ZIP64 headers mark the sizes and carry zeros.
  if (zip64) {
    putU32(header, 18, MAX_U32);
    putU32(header, 22, MAX_U32);
  }
  putU16(header, 26, name.length);
  putU16(header, 28, zip64 ? 20 : 0);
  header.set(name, LOCAL_SIZE);
  if (zip64) {
    putU16(header, LOCAL_SIZE + name.length, EXTRA_ZIP64);
    putU16(header, LOCAL_SIZE + name.length + 2, 16);
  }
  return header;
}

export function dataDescriptor(crc: number, compressedSize: number, size: number, zip64: boolean) {
  const descriptor = new Uint8Array(zip64 ? 24 : 16);
  putU32(descriptor, 0, SIG_DESCRIPTOR);
  putU32(descriptor, 4, crc);
  if (zip64) {
    putU64(descriptor, 8, compressedSize);
    putU64(descriptor, 16, size);
  } else {
    putU32(descriptor, 8, compressedSize);
    putU32(descriptor, 12, size);
  }
  return descriptor;
}

export function centralRecord(w: EntryRecord): Uint8Array {
  const bigSizes = w.zip64 || w.size >= MAX_U32 || w.compressedSize >= MAX_U32;
  const bigOffset = w.offset >= MAX_U32;
  const extraLength = bigSizes || bigOffset ? 4 + (bigSizes ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
  const r = new Uint8Array(CENTRAL_SIZE + w.name.length + extraLength);
  putU32(r, 0, SIG_CENTRAL);
  putU16(r, 4, (3 << 8) | 45); // made by: Unix, spec 4.5
  putU16(r, 6, extraLength ? 45 : 20);
  putU16(r, 8, FLAG_DESCRIPTOR | FLAG_UTF8);
  putU16(r, 10, w.method);
  putU16(r, 12, w.dos.time);
  putU16(r, 14, w.dos.date);
  putU32(r, 16, w.crc);
  putU32(r, 20, bigSizes ? MAX_U32 : w.compressedSize);
  putU32(r, 24, bigSizes ? MAX_U32 : w.size);
  putU16(r, 28, w.name.length);
  putU16(r, 30, extraLength);
  // Unix mode in the high half: rw-r--r-- files, rwxr-xr-x directories (plus the DOS directory bit).
  putU32(r, 38, w.directory ? ((0o40755 << 16) | 0x10) >>> 0 : (0o100644 << 16) >>> 0);
  putU32(r, 42, bigOffset ? MAX_U32 : w.offset);
  r.set(w.name, CENTRAL_SIZE);
  if (extraLength) {
    let at = CENTRAL_SIZE + w.name.length;
    putU16(r, at, EXTRA_ZIP64);
    putU16(r, at + 2, extraLength - 4);
    at += 4;
    if (bigSizes) {
      putU64(r, at, w.size);
      putU64(r, at + 8, w.compressedSize);
      at += 16;
    }
    if (bigOffset) putU64(r, at, w.offset);
  }
  return r;
}

/**
 * The end records after a central directory of `count` entries and `cdSize` bytes at `cdOffset`:
 * the ZIP64 end record and locator when anything needs them (or `forceZip64`), then the classic one.
 */
export function endRecords(count: number, cdOffset: number, cdSize: number, forceZip64 = false): Uint8Array {
  const zip64End = forceZip64 || count >= MAX_U16 || cdOffset >= MAX_U32 || cdSize >= MAX_U32;
  const end = new Uint8Array((zip64End ? EOCD64_SIZE + LOCATOR64_SIZE : 0) + EOCD_SIZE);
  let at = 0;
  if (zip64End) {
    putU32(end, 0, SIG_EOCD64);
    putU64(end, 4, EOCD64_SIZE - 12);
    putU16(end, 12, (3 << 8) | 45);
    putU16(end, 14, 45);
    putU64(end, 24, count);
    putU64(end, 32, count);
    putU64(end, 40, cdSize);
    putU64(end, 48, cdOffset);
    putU32(end, EOCD64_SIZE, SIG_LOCATOR64);
    putU64(end, EOCD64_SIZE + 8, cdOffset + cdSize);
    putU32(end, EOCD64_SIZE + 16, 1);
    at = EOCD64_SIZE + LOCATOR64_SIZE;
  }
  putU32(end, at, SIG_EOCD);
  putU16(end, at + 8, zip64End ? MAX_U16 : count);
  putU16(end, at + 10, zip64End ? MAX_U16 : count);
  putU32(end, at + 12, zip64End ? MAX_U32 : cdSize);
  putU32(end, at + 16, zip64End ? MAX_U32 : cdOffset);
  return end;
}
