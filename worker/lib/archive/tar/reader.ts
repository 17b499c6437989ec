/**
 * Reading a tar or tar.gz archive (Mastodon's older exports) from a stream, one entry at a time, each
 * with its body as a stream the consumer reads or ignores: moving to the next entry skips what is left
 * of the body. ustar, PAX extended headers (path, linkpath, size) and GNU long names and link names
 * ('L', 'K') are understood. gzip is recognized by its magic and inflated by `inflate`.
 *
 * Memory: one input chunk, one header, and a PAX or GNU long-name record (capped, 1 MiB by default).
 *
 * Resuming: a stream cannot seek, so `skipEntries: n` re-reads and inflates everything before entry n
 * and throws those bodies away without handing them out. A job that must stop and resume (the Free
 * plan's ~10 ms of CPU) walks a .tar.gz in R2 with TarGzWalker (walker.ts) instead, which continues
 * from a checkpoint without inflating anything again.
 *
 * Limits: one gzip member; sparse files, multi-volume archives and global PAX headers' fields are not
 * supported (global headers are skipped); names must pass `checkEntryName` (a leading "./" is dropped).
 */
import { ByteReader } from "../byte-reader";
import { ArchiveError } from "../errors";
import { inflate } from "../inflate";
import { padded, readMemberHeader, type TarEntryType } from "./member";

export type { TarEntryType } from "./member";

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

export async function* readTar(
  input: ReadableStream<Uint8Array>,
  options: TarOptions = {},
): AsyncGenerator<TarEntry> {
  const maxMeta = options.maxMetaSize ?? 1024 * 1024;
  const maxEntry = options.maxEntrySize ?? Number.MAX_SAFE_INTEGER;
  const skip = options.skipEntries ?? 0;
  const { bytes, cancel } = await openInput(input);
  let index = 0;
  const at = { first: true };
  let live: { stale: boolean } | null = null;

  try {
    for (;;) {
      const member = await readMemberHeader(bytes, at, maxMeta, maxEntry);
      if (!member) return;
      const { name, type, size: dataSize } = member;
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
        typeflag: member.typeflag,
        size: dataSize,
        mode: member.mode,
        modified: new Date(member.mtime * 1000),
        linkName: member.linkName,
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
