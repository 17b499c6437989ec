/**
 * Central directory entries (APPNOTE 4.3.12), read in ~1 MB ranges so a directory of a million entries
 * never sits in memory at once, with ZIP64 extra fields (4.5.3) supplying any size or offset the
 * 32-bit field marks as 0xFFFFFFFF. Names are checked with `checkEntryName`.
 */
import { u16, u32, u64 } from "../bytes";
import { corrupt, truncated } from "../errors";
import { checkEntryName } from "../names";
import type { RandomAccessSource } from "../source";
import type { CentralDirectory } from "./end-record";
import { CENTRAL_SIZE, EXTRA_ZIP64, FLAG_UTF8, MAX_U32, SIG_CENTRAL, fromDosDateTime } from "./format";

export interface ZipEntry {
  /** The name as stored (UTF-8 when flagged or ASCII, otherwise read as CP437). */
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  readonly modified: Date;
  readonly isDirectory: boolean;
}

const WINDOW = 1024 * 1024;

export async function* readEntries(
  source: RandomAccessSource,
  cd: CentralDirectory,
): AsyncGenerator<ZipEntry> {
  for await (const { entry } of readEntriesAt(source, cd, { offset: cd.offset, index: 0 })) yield entry;
}

/** Where a walk of the central directory stands: the next record's offset and number. */
export interface DirectoryPosition {
  offset: number;
  index: number;
}

/**
 * The entries from `from` on (a position an earlier walk yielded, or the directory's start), each with
 * the position after it, so an import can index a large directory a slice per invocation.
 */
export async function* readEntriesAt(
  source: RandomAccessSource,
  cd: Pick<CentralDirectory, "offset" | "size" | "entries">,
  from: DirectoryPosition,
  windowSize = WINDOW,
): AsyncGenerator<{ entry: ZipEntry; next: DirectoryPosition }> {
  const end = cd.offset + cd.size;
  if (from.offset < cd.offset || from.offset > end || from.index < 0 || from.index > cd.entries) {
    throw corrupt(`ZIP central directory position ${from.offset}/${from.index} is outside it`);
  }
  let windowStart = from.offset;
  let window: Uint8Array = new Uint8Array(0);
  let pos = from.offset;

  // Makes [pos, pos + n) available in `window`; a record is at most 46 + 3 * 65535 bytes.
  const need = async (n: number): Promise<Uint8Array> => {
    if (pos + n > end) throw truncated("ZIP central directory entry");
    if (pos + n > windowStart + window.length) {
      windowStart = pos;
      window = await source.read(pos, Math.min(end - pos, Math.max(windowSize, n)));
    }
    return window.subarray(pos - windowStart, pos - windowStart + n);
  };

  for (let i = from.index; i < cd.entries; i++) {
    const fixed = await need(CENTRAL_SIZE);
    if (u32(fixed, 0) !== SIG_CENTRAL) throw corrupt(`ZIP central directory entry ${i} has a bad signature`);
    const nameLength = u16(fixed, 28);
    const extraLength = u16(fixed, 30);
    const commentLength = u16(fixed, 32);
    const record = await need(CENTRAL_SIZE + nameLength + extraLength + commentLength);
    pos += record.length;
    yield {
      entry: parseEntry(record, nameLength, extraLength, cd.offset),
      next: { offset: pos, index: i + 1 },
    };
  }
}

function parseEntry(r: Uint8Array, nameLength: number, extraLength: number, cdOffset: number): ZipEntry {
  const flags = u16(r, 8);
  const rawName = r.subarray(CENTRAL_SIZE, CENTRAL_SIZE + nameLength);
  const name = decodeName(rawName, (flags & FLAG_UTF8) !== 0);
  let size = u32(r, 24);
  let compressedSize = u32(r, 20);
  let localHeaderOffset = u32(r, 42);

  if (size === MAX_U32 || compressedSize === MAX_U32 || localHeaderOffset === MAX_U32) {
    const z = findExtra(
      r.subarray(CENTRAL_SIZE + nameLength, CENTRAL_SIZE + nameLength + extraLength),
      EXTRA_ZIP64,
    );
    if (!z) throw corrupt(`ZIP entry ${JSON.stringify(name)} needs a ZIP64 extra field and has none`);
    let at = 0;
    const take = (what: string): number => {
      if (at + 8 > z.length) throw corrupt(`ZIP64 extra field of ${JSON.stringify(name)} is too short`);
      const v = u64(z, at, what);
      at += 8;
      return v;
    };
    if (size === MAX_U32) size = take("entry size");
    if (compressedSize === MAX_U32) compressedSize = take("compressed size");
    if (localHeaderOffset === MAX_U32) localHeaderOffset = take("local header offset");
  }
  if (localHeaderOffset >= cdOffset)
    throw corrupt(`ZIP entry ${JSON.stringify(name)} starts inside the directory`);

  checkEntryName(name);
  return {
    name,
    method: u16(r, 10),
    flags,
    crc32: u32(r, 16),
    compressedSize,
    size,
    localHeaderOffset,
    modified: fromDosDateTime(u16(r, 14), u16(r, 12)),
    isDirectory: name.endsWith("/"),
  };
}

/** The data of extra field `id` in a run of (id, length, data) records, or null. */
export function findExtra(extra: Uint8Array, id: number): Uint8Array | null {
  let at = 0;
  while (at + 4 <= extra.length) {
    const length = u16(extra, at + 2);
    if (at + 4 + length > extra.length) return null;
    if (u16(extra, at) === id) return extra.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return null;
}

// IBM PC code page 437, bytes 0x80-0xFF: what ZIP names mean without the UTF-8 flag (APPNOTE D.1).
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeName(raw: Uint8Array, isUtf8: boolean): string {
  if (isUtf8 || raw.every((b) => b < 0x80)) {
    try {
      return utf8.decode(raw);
    } catch {
      throw corrupt("ZIP entry name is flagged UTF-8 but is not");
    }
  }
  let s = "";
  for (const b of raw) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}
