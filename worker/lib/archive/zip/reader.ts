/**
 * Reading a ZIP archive over random access (an R2 object, bytes in memory): its end records, its
 * entries, and any one entry as a verified stream. Nothing holds the archive: the directory is read in
 * ~1 MB ranges as it is walked, entries in ~1 MB ranges as they are read.
 *
 * `index()` builds a lookup by name for the archive's entries that accepts Mastodon's media paths in
 * any spelling (`/system/media_attachments/…`, `media_attachments/…`, …; see names.ts). It holds one
 * small object per entry (about 200 bytes), so it is capped (default 500,000 entries, ~100 MB would be
 * far too many for a Worker long before that: an import job pages through `entries()` instead).
 *
 *   const zip = await ZipReader.open(await r2Source(env.MEDIA, key));
 *   const index = await zip.index();
 *   const outbox = zip.open(index.get("outbox.json") ?? fail());
 */
import { tooLarge } from "../errors";
import { mediaKey } from "../names";
import type { RandomAccessSource } from "../source";
import { findCentralDirectory, type CentralDirectory } from "./end-record";
import { readEntries, type ZipEntry } from "./entries";
import { openEntry, type OpenOptions } from "./entry-stream";
import { ResumableEntry, type EntryCheckpoint, type ResumableOptions } from "./resumable-entry";

export type { ZipEntry } from "./entries";
export type { OpenOptions } from "./entry-stream";

export class ZipReader {
  private constructor(
    private readonly source: RandomAccessSource,
    private readonly directory: CentralDirectory,
  ) {}

  static async open(source: RandomAccessSource): Promise<ZipReader> {
    return new ZipReader(source, await findCentralDirectory(source));
  }

  get entryCount(): number {
    return this.directory.entries;
  }

  get isZip64(): boolean {
    return this.directory.zip64;
  }

  /** The entries in directory order, read as they are iterated. */
  entries(): AsyncGenerator<ZipEntry> {
    return readEntries(this.source, this.directory);
  }

  async index(maxEntries = 500_000): Promise<ZipIndex> {
    if (this.directory.entries > maxEntries) {
      throw tooLarge(`ZIP archive has ${this.directory.entries} entries, over the ${maxEntries} allowed`);
    }
    const byKey = new Map<string, ZipEntry>();
    for await (const entry of this.entries()) {
      const key = mediaKey(entry.name);
      if (!byKey.has(key)) byKey.set(key, entry);
    }
    return new ZipIndex(byKey);
  }

  /** The entry's bytes, inflated and checked (size, CRC-32) by the time the stream closes. */
  open(entry: ZipEntry, options?: OpenOptions): ReadableStream<Uint8Array> {
    return openEntry(this.source, entry, this.directory.offset, options);
  }

  /** The entry's bytes in pieces that can stop and resume from a checkpoint (resumable-entry.ts). */
  openResumable(
    entry: ZipEntry,
    from: EntryCheckpoint | null,
    options?: ResumableOptions,
  ): Promise<ResumableEntry> {
    return ResumableEntry.open(this.source, entry, from, { ...options, dataLimit: this.directory.offset });
  }
}

/** Entries by normalized name; the first entry wins when two names normalize alike. */
export class ZipIndex {
  constructor(private readonly byKey: ReadonlyMap<string, ZipEntry>) {}

  get size(): number {
    return this.byKey.size;
  }

  get(path: string): ZipEntry | undefined {
    return this.byKey.get(mediaKey(path));
  }

  values(): IterableIterator<ZipEntry> {
    return this.byKey.values();
  }
}
