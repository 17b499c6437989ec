/**
 * Where an import job stands in its archive (its "position", kept in `archive_imports.checkpoint` and
 * advanced in each chunk's batch), and the archive's central directory in D1 (`archive_entries`).
 *
 * Reading the whole central directory in every chunk, as a `ZipIndex`, costs ~6 µs per entry (measured
 * in Node: 12 ms for an archive of 2,000 media files, 131 ms for 20,000), past a Free invocation's
 * 10 ms on its own. So the first chunks read it a slice at a time into D1 (`indexStep`); after that a
 * chunk looks up only the files its posts name, in one query, and reads outbox.json from the location
 * recorded in the position. A directory small enough for one slice stays in memory for the chunk that
 * read it, which then goes on with the outbox.
 *
 * The outbox reader's checkpoint (~33 KB) is kept in the position as base64. A BLOB column would be
 * the obvious home, but D1 hands a BLOB to the Worker as a JSON array of numbers: turning 33 KB of it
 * back into bytes measured 2.9 ms in Node, against 60 µs for the same bytes as base64 text.
 */
import { Buffer } from "node:buffer";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import { archiveEntries } from "../../db/schema";
import { badCheckpoint, tooLarge } from "../../lib/archive/errors";
import { mediaKey } from "../../lib/archive/names";
import type { RandomAccessSource } from "../../lib/archive/source";
import { findCentralDirectory } from "../../lib/archive/zip/end-record";
import { readEntriesAt, type ZipEntry } from "../../lib/archive/zip/entries";
import { openEntry, type OpenOptions } from "../../lib/archive/zip/entry-stream";

/** Directory entries read per chunk while indexing (~6 µs each, with their share of the insert). */
export const INDEX_ENTRIES = 400;
/** The largest directory taken: ZipIndex's cap, and 1,250 indexing chunks. */
const MAX_ENTRIES = 500_000;
/** Bytes of directory per ranged read: a slice of INDEX_ENTRIES records usually fits in one. */
const DIRECTORY_RANGE = 256 * 1024;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const StoredEntry = z.object({
  name: z.string().min(1).max(65_535),
  method: count,
  flags: count,
  crc32: count,
  compressedSize: count,
  size: count,
  localHeaderOffset: count,
  modified: z.number(),
});
type StoredEntry = z.infer<typeof StoredEntry>;

const Position = z.object({
  /** The central directory: where it is (entry data must end before it), how long, how many entries. */
  directory: z.object({ offset: count, size: count, entries: count }),
  /** The next directory record to index; `index === directory.entries` once all are. */
  indexed: z.object({ offset: count, index: count }),
  /** outbox.json, once the directory was read that far. */
  outbox: StoredEntry.nullable(),
  /** The outbox reader's checkpoint (base64); null before the first outbox chunk. */
  reader: z.string().nullable(),
});
export type Position = z.infer<typeof Position>;

/** A job's position as stored; a malformed one is refused (it is no place to resume at). */
export function readPosition(stored: unknown): Position {
  const parsed = Position.safeParse(stored);
  if (!parsed.success) throw badCheckpoint("the import job's position is malformed");
  return parsed.data;
}

/** The position at the start: the central directory found from the archive's end records. */
export async function startPosition(source: RandomAccessSource): Promise<Position> {
  const cd = await findCentralDirectory(source);
  if (cd.entries > MAX_ENTRIES) {
    throw tooLarge(`ZIP archive has ${cd.entries} entries, over the ${MAX_ENTRIES} allowed`);
  }
  return {
    directory: { offset: cd.offset, size: cd.size, entries: cd.entries },
    indexed: { offset: cd.offset, index: 0 },
    outbox: null,
    reader: null,
  };
}

export const isIndexed = (p: Position) => p.indexed.index >= p.directory.entries;

export const readerCheckpoint = (p: Position): Uint8Array | null =>
  p.reader === null ? null : new Uint8Array(Buffer.from(p.reader, "base64"));

export const withReader = (p: Position, checkpoint: Uint8Array): Position => ({
  ...p,
  reader: Buffer.from(checkpoint.buffer, checkpoint.byteOffset, checkpoint.byteLength).toString("base64"),
});

const stored = (e: ZipEntry): StoredEntry => ({
  name: e.name,
  method: e.method,
  flags: e.flags,
  crc32: e.crc32,
  compressedSize: e.compressedSize,
  size: e.size,
  localHeaderOffset: e.localHeaderOffset,
  modified: e.modified.getTime(),
});

export const entryOf = (e: StoredEntry): ZipEntry => ({
  ...e,
  modified: new Date(e.modified),
  isDirectory: e.name.endsWith("/"),
});

/** A file of the archive under its lookup key. */
export interface IndexedEntry {
  key: string;
  entry: ZipEntry;
}

/** Finds an archive's files by path, in any of Mastodon's spellings (`ZipIndex` is one). */
export interface EntryLookup {
  get(path: string): ZipEntry | undefined;
}

export interface IndexStep {
  position: Position;
  /** The files read, to insert (directories are left out: no post names one). */
  files: IndexedEntry[];
  /** When this step read the whole directory: the lookup over it, with no query needed. */
  whole: EntryLookup | null;
}

/** Reads the next `maxEntries` directory records from where the position stands. */
export async function indexStep(
  source: RandomAccessSource,
  position: Position,
  maxEntries = INDEX_ENTRIES,
): Promise<IndexStep> {
  const files: IndexedEntry[] = [];
  let { indexed, outbox } = position;
  let n = 0;
  for await (const { entry, next } of readEntriesAt(source, position.directory, indexed, DIRECTORY_RANGE)) {
    indexed = next;
    if (!entry.isDirectory) {
      const key = mediaKey(entry.name);
      files.push({ key, entry });
      if (outbox === null && key === "outbox.json") outbox = stored(entry);
    }
    if (++n >= maxEntries) break;
  }
  const after = { ...position, indexed, outbox };
  const whole = position.indexed.index === 0 && isIndexed(after) ? memoryLookup(files) : null;
  return { position: after, files, whole };
}

/** The first file of each key wins, as in `ZipIndex` and the insert's ON CONFLICT DO NOTHING. */
function memoryLookup(files: IndexedEntry[]): EntryLookup {
  const byKey = new Map<string, ZipEntry>();
  for (const f of files) if (!byKey.has(f.key)) byKey.set(f.key, f.entry);
  return { get: (path) => byKey.get(mediaKey(path)) };
}

/** The files at these paths, from the job's indexed directory: one query. */
export async function entryLookup(ctx: Ctx, importId: string, paths: string[]): Promise<EntryLookup> {
  const keys = [...new Set(paths.map(mediaKey))];
  if (keys.length === 0) return memoryLookup([]);
  const rows = await ctx.db
    .select()
    .from(archiveEntries)
    .where(
      and(
        eq(archiveEntries.importId, importId),
        sql`${archiveEntries.key} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`,
      ),
    );
  return memoryLookup(
    rows.map(({ key, importId: _, ...e }) => ({ key, entry: entryOf(StoredEntry.parse(e)) })),
  );
}

/** Reads entries of the archive whose directory starts at `dataLimit` (what a copy needs of ZipReader). */
export const archiveAt = (source: RandomAccessSource, dataLimit: number) => ({
  open: (entry: ZipEntry, options?: OpenOptions) => openEntry(source, entry, dataLimit, options),
});

/** Stores a step's files (in one statement, whatever their number; the first of a key stays). */
export function insertEntries(ctx: Ctx, importId: string, files: IndexedEntry[]): D1PreparedStatement {
  const rows = files.map(({ key, entry: e }) => [
    key,
    e.name,
    e.method,
    e.flags,
    e.crc32,
    e.compressedSize,
    e.size,
    e.localHeaderOffset,
    e.modified.getTime(),
  ]);
  const at = (i: number) => `json_extract(value, '$[${i}]')`;
  return d1Of(ctx.db)
    .prepare(
      `INSERT INTO archive_entries (import_id, key, name, method, flags, crc32, compressed_size, size,
        local_header_offset, modified)
      SELECT ?1, ${[0, 1, 2, 3, 4, 5, 6, 7, 8].map(at).join(", ")}
      FROM json_each(?2) WHERE 1 ON CONFLICT DO NOTHING`,
    )
    .bind(importId, JSON.stringify(rows));
}

/** The job's directory rows go when it ends, done or failed. */
export function deleteEntries(ctx: Ctx, importId: string): D1PreparedStatement {
  return d1Of(ctx.db).prepare(`DELETE FROM archive_entries WHERE import_id = ?1`).bind(importId);
}
