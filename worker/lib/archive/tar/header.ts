/**
 * One 512-byte tar header block: ustar (POSIX.1-1988, with its 155-byte name prefix), GNU (the same
 * layout, "ustar  " magic, base-256 numbers for sizes past 8 GiB) and old v7 blocks, all recognized by
 * their checksum. https://pubs.opengroup.org/onlinepubs/9799919799/utilities/pax.html#tag_20_92_13_06
 */
import { badMagic, corrupt, tooLarge } from "../errors";

export const BLOCK = 512;

export interface RawHeader {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkName: string;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function text(block: Uint8Array, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const nul = field.indexOf(0);
  const bytes = nul < 0 ? field : field.subarray(0, nul);
  // ustar names are bytes; in practice UTF-8 (Ruby and Python write UTF-8).
  return utf8.decode(bytes);
}

function number(block: Uint8Array, at: number, length: number, what: string): number {
  const first = block[at] as number;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement; negative values make no sense here.
    if (first & 0x40) throw corrupt(`tar ${what} is negative`);
    let value = first & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + (block[at + i] as number);
    if (!Number.isSafeInteger(value)) throw tooLarge(`tar ${what} does not fit in 2^53`);
    return value;
  }
  const s = latin1
    .decode(block.subarray(at, at + length))
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw corrupt(`tar ${what} is not an octal number: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

export function isZeroBlock(block: Uint8Array): boolean {
  return block.every((b) => b === 0);
}

/** Parses a header block; `first` makes a bad checksum mean "not a tar" rather than "damaged". */
export function parseHeader(block: Uint8Array, first: boolean): RawHeader {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  let stored = -1;
  try {
    stored = number(block, 148, 8, "checksum");
  } catch {
    // not a number: the same as a wrong one
  }
  if (stored !== unsigned && stored !== signed) {
    throw first
      ? badMagic("not a tar archive (header checksum fails)")
      : corrupt("tar header checksum fails");
  }
  const magic = latin1.decode(block.subarray(257, 263));
  let name = text(block, 0, 100);
  if (magic === "ustar\0") {
    const prefix = text(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: number(block, 100, 8, "mode"),
    size: number(block, 124, 12, "size"),
    mtime: number(block, 136, 12, "mtime"),
    typeflag: String.fromCharCode(block[156] as number),
    linkName: text(block, 157, 100),
  };
}

/**
 * PAX extended header records, `"<length> <key>=<value>\n"` where length counts the whole record.
 * Values are UTF-8. https://pubs.opengroup.org/onlinepubs/9799919799/utilities/pax.html#tag_20_92_13_03
 */
export function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    let space = at;
    while (space < data.length && data[space] !== 0x20) space++;
    const length = Number(latin1.decode(data.subarray(at, space)));
    if (!Number.isInteger(length) || length <= space - at + 1 || at + length > data.length) {
      if (data.subarray(at).every((b) => b === 0)) break; // NUL padding some writers leave
      throw corrupt(`tar PAX record at ${at} has a bad length`);
    }
    const record = utf8.decode(data.subarray(space + 1, at + length - 1));
    if (data[at + length - 1] !== 0x0a) throw corrupt(`tar PAX record at ${at} does not end in a newline`);
    const eq = record.indexOf("=");
    if (eq <= 0) throw corrupt(`tar PAX record at ${at} has no key`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}
