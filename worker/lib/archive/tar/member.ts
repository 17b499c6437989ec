/**
 * One tar member's header as the readers see it: the 512-byte header block with what PAX extended
 * headers ('x'; path, linkpath, size) and GNU long names ('L', 'K') say about it folded in, the name
 * checked by `checkEntryName` (a leading "./" dropped, the archive's own root directory passed over).
 * Shared by the stream reader (reader.ts) and the resumable walker (walker.ts).
 */
import type { ByteReader } from "../byte-reader";
import { corrupt, tooLarge, truncated } from "../errors";
import { checkEntryName } from "../names";
import { BLOCK, isZeroBlock, parseHeader, parsePax, type RawHeader } from "./header";

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface MemberHeader {
  readonly name: string;
  readonly type: TarEntryType;
  /** The raw typeflag, for "other". */
  readonly typeflag: string;
  /** Bytes of data that follow the header (0 for directories and links). */
  readonly size: number;
  readonly mode: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly linkName: string;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "5": "directory",
  "2": "symlink",
  "1": "hardlink",
};

export const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * Reads the next member's header blocks (leaving `bytes` at its data), or null at the end-of-archive
 * block. `at.first` is true until the archive's first header has been read (parseHeader checks magic).
 */
export async function readMemberHeader(
  bytes: ByteReader,
  at: { first: boolean },
  maxMeta: number,
  maxEntry: number,
): Promise<MemberHeader | null> {
  for (;;) {
    let pax = new Map<string, string>();
    let longName: string | null = null;
    let longLink: string | null = null;
    let header: RawHeader;
    // Metadata entries apply to the next real one.
    for (;;) {
      const block = await bytes.exactly(BLOCK, "tar header");
      if (block === null) throw truncated("tar archive (no end-of-archive blocks)");
      if (isZeroBlock(block)) return null;
      header = parseHeader(block, at.first);
      at.first = false;
      if (!"xgLK".includes(header.typeflag)) break;
      if (header.size > maxMeta) throw tooLarge(`tar ${header.typeflag} header of ${header.size} bytes`);
      const data = (await bytes.exactly(padded(header.size), "tar extended header")) ?? new Uint8Array(0);
      const body = data.subarray(0, header.size);
      if (header.typeflag === "x") pax = parsePax(body);
      else if (header.typeflag === "L") longName = cString(body);
      else if (header.typeflag === "K") longLink = cString(body);
    }

    let name = pax.get("path") ?? longName ?? header.name;
    const linkName = pax.get("linkpath") ?? longLink ?? header.linkName;
    const size = pax.has("size") ? paxNumber(pax.get("size") as string) : header.size;
    const type = TYPES[header.typeflag] ?? "other";
    const dataSize = type === "directory" || type === "symlink" || type === "hardlink" ? 0 : size;
    if (dataSize > maxEntry) throw tooLarge(`tar entry ${JSON.stringify(name)} is ${dataSize} bytes`);

    while (name.startsWith("./")) name = name.slice(2);
    if (name === "" || name === ".") {
      await bytes.skip(padded(dataSize), "tar entry body"); // the archive's root directory
      continue;
    }
    checkEntryName(name);
    return {
      name,
      type,
      typeflag: header.typeflag,
      size: dataSize,
      mode: header.mode,
      mtime: header.mtime,
      linkName,
    };
  }
}

function cString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? data : data.subarray(0, nul));
}

function paxNumber(s: string): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s)))
    throw corrupt(`tar PAX size ${JSON.stringify(s)}`);
  return Number(s);
}
