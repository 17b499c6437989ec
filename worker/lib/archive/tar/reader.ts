/**
 * Reading a tar or tar.gz archive (Mastodon's older exports) from a stream, one entry at a time, each
 * with its body as a stream the consumer reads or ignores: moving to the next entry skips what is left
 * of the body. ustar, PAX extended headers (path, linkpath, size) and GNU long names and link names
 * ('L', 'K') are understood. gzip is recognized by its magic and inflated by `inflate`.
 *
 * Memory: one input chunk, one header, and a PAX or GNU long-name record (capped, 1 MiB by default).
 *
 * Resuming: a tar.gz cannot seek, so `skipEntries: n` re-reads and inflates everything before entry n
 * and throws those bodies away without handing them out. Its cost is the time to gunzip that prefix
 * (tens of MB/s inside workerd, see inflate.ts): a job that resumes often over a large .tar.gz should
 * first unpack it once to R2 objects, or favour ZIP archives, which seek.
 *
 * Limits: one gzip member; sparse files, multi-volume archives and global PAX headers' fields are not
 * supported (global headers are skipped); names must pass `checkEntryName` (a leading "./" is dropped).
 */
import { ByteReader } from "../byte-reader";
import { ArchiveError, corrupt, tooLarge, truncated } from "../errors";
import { inflate } from "../inflate";
import { checkEntryName } from "../names";
import { BLOCK, isZeroBlock, parseHeader, parsePax, type RawHeader } from "./header";

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarEntry {
  /** Position among the entries this reader yields (skipped ones included), from 0. */
  readonly index: number;
  readonly name: string;
  readonly type: TarEntryType;
  /** The raw typeflag, for "other". */
  readonly typeflag: string;
  readonly size: number;
  readonly mode: number;
  readonly modified: Date;
  readonly linkName: string;
  /** The entry's bytes; valid only until the next entry is asked for. */
  readonly body: ReadableStream<Uint8Array>;
}

export interface TarOptions {
  /** Entries to pass over before the first one yielded (resumption; see the file comment). */
  skipEntries?: number;
  /** Largest PAX header or GNU long name accepted; default 1 MiB. */
  maxMetaSize?: number;
  /** Largest entry accepted; default: no cap (bodies stream). */
  maxEntrySize?: number;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "5": "directory",
  "2": "symlink",
  "1": "hardlink",
};

export async function* readTar(
  input: ReadableStream<Uint8Array>,
  options: TarOptions = {},
): AsyncGenerator<TarEntry> {
  const maxMeta = options.maxMetaSize ?? 1024 * 1024;
  const maxEntry = options.maxEntrySize ?? Number.MAX_SAFE_INTEGER;
  const skip = options.skipEntries ?? 0;
  const { bytes, cancel } = await openInput(input);
  let index = 0;
  let first = true;
  let live: { stale: boolean } | null = null;

  try {
    for (;;) {
      let pax = new Map<string, string>();
      let longName: string | null = null;
      let longLink: string | null = null;
      let header: RawHeader;
      // Metadata entries apply to the next real one.
      for (;;) {
        const block = await bytes.exactly(BLOCK, "tar header");
        if (block === null) throw truncated("tar archive (no end-of-archive blocks)");
        if (isZeroBlock(block)) return;
        header = parseHeader(block, first);
        first = false;
        const meta = "xgLK".includes(header.typeflag);
        if (!meta) break;
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

      const position = bytes.position;
      const end = position + dataSize;
      if (index < skip) {
        await bytes.skip(padded(dataSize), "tar entry body");
        index++;
        continue;
      }
      const state = { stale: false };
      live = state;
      yield {
        index,
        name,
        type,
        typeflag: header.typeflag,
        size: dataSize,
        mode: header.mode,
        modified: new Date(header.mtime * 1000),
        linkName,
        body: bodyStream(bytes, end, state, name),
      };
      state.stale = true;
      live = null;
      // Whatever the consumer left unread, plus the padding to the next block.
      await bytes.skip(end - bytes.position + (padded(dataSize) - dataSize), "tar entry body");
      index++;
    }
  } finally {
    if (live) live.stale = true;
    await cancel();
  }
}

function bodyStream(bytes: ByteReader, end: number, state: { stale: boolean }, name: string) {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (state.stale) throw new ArchiveError("corrupt", `tar entry ${name} was read after moving on`);
        const left = end - bytes.position;
        if (left === 0) return controller.close();
        controller.enqueue(
          await bytes.upTo(Math.min(left, 1024 * 1024), `tar entry ${JSON.stringify(name)}`),
        );
      },
    },
    { highWaterMark: 0 },
  );
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

function cString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? data : data.subarray(0, nul));
}

function paxNumber(s: string): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s)))
    throw corrupt(`tar PAX size ${JSON.stringify(s)}`);
  return Number(s);
}

/** The input as a ByteReader, gunzipped when it starts with gzip's magic (1f 8b). */
async function openInput(input: ReadableStream<Uint8Array>) {
  const reader = input.getReader();
  let peeked: Uint8Array | null = null;
  while (peeked === null || peeked.length < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    peeked = peeked ? new Uint8Array([...peeked, ...value]) : value;
  }
  let first = peeked;
  const raw = async (): Promise<Uint8Array | null> => {
    if (first) {
      const f = first;
      first = null;
      return f;
    }
    const { done, value } = await reader.read();
    return done ? null : value;
  };
  const cancelInput = () => reader.cancel().catch(() => {});
  if (peeked && peeked[0] === 0x1f && peeked[1] === 0x8b) {
    const { bytes, cancel } = ByteReader.fromStream(inflate(raw, "gzip", "tar.gz"));
    return { bytes, cancel: async () => void (await Promise.all([cancel(), cancelInput()])) };
  }
  return { bytes: new ByteReader(raw), cancel: cancelInput };
}
