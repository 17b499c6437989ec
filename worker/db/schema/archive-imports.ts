/**
 * Importing a Mastodon archive: the job (an upload, then phases driven in chunks by the import
 * queue), the parts uploaded so far (R2's binding cannot list them, and a reloaded page resumes from
 * them), which old post became which status (so nothing is imported twice, across re-runs too), and
 * what was skipped and why.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

export type ArchiveImportState = "uploading" | "queued" | "running" | "done" | "failed";
/** "convert": a .tar.gz being turned into a ZIP (services/archive-import/convert.ts); then "import". */
export type ArchiveImportPhase = "convert" | "import";

export const archiveImports = sqliteTable("archive_imports", {
  id: text("id").primaryKey(),
  state: text("state").$type<ArchiveImportState>().notNull().default("uploading"),
  filename: text("filename").notNull(),
  size: integer("size").notNull(),
  /** The archive in R2, and its multipart upload while the state is "uploading". */
  key: text("key").notNull(),
  uploadId: text("upload_id").notNull(),
  partSize: integer("part_size").notNull(),
  phase: text("phase").$type<ArchiveImportPhase>().notNull().default("import"),
  /** The conversion's state while the phase is "convert" (convert.ts; JSON, with the walker's checkpoint). */
  convert: text("convert", { mode: "json" }).$type<unknown>(),
  /** Bytes of the .tar.gz walked by the conversion so far (of `size`): its progress. */
  convertedBytes: integer("converted_bytes").notNull().default(0),
  /**
   * Where the job stands in its archive (services/archive-import/directory.ts `Position`, JSON): the
   * central directory and how far it is indexed, outbox.json's entry, and the outbox reader's ~33 KB
   * checkpoint as base64. Null: at the start.
   */
  checkpoint: text("checkpoint", { mode: "json" }).$type<unknown>(),
  /** Items already read from the outbox but not yet imported (a chunk's media budget ran out). */
  carry: text("carry", { mode: "json" }).$type<{ index: number; item: unknown }[]>(),
  /** While in the future, a chunk is running: no other may start (queue redelivery, cron). */
  leaseUntil: text("lease_until"),
  /** Chunks that failed in a row at this checkpoint: the job fails after a few. */
  failures: integer("failures").notNull().default(0),
  items: integer("items").notNull().default(0),
  postsImported: integer("posts_imported").notNull().default(0),
  postsAlready: integer("posts_already").notNull().default(0),
  mediaImported: integer("media_imported").notNull().default(0),
  pollsImported: integer("polls_imported").notNull().default(0),
  error: text("error"),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
  finishedAt: text("finished_at"),
});

/** The parts of an archive's multipart upload that R2 has taken, with the etag complete() needs. */
export const archiveUploadParts = sqliteTable(
  "archive_upload_parts",
  {
    importId: text("import_id").notNull(),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
    size: integer("size").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.partNumber] })],
);

/**
 * An archived post (its old `id`) and the status it became. The status id is allocated when this row
 * is inserted; `chunk` names the chunk that inserted it, so the rest of that chunk's statements (which
 * join on `old_uri`, the primary key: no other index to pay for) act on its own posts only, and a post
 * already here is never stored again.
 */
export const archivePosts = sqliteTable("archive_posts", {
  oldUri: text("old_uri").primaryKey(),
  statusId: text("status_id").notNull(),
  /** Where the post first lived: its old page (`url`), else its old id. */
  oldUrl: text("old_url").notNull(),
  importId: text("import_id").notNull(),
  chunk: text("chunk").notNull(),
});

export type ArchiveSkipKind = "post" | "media" | "boost" | "item";

/** What an import did not take, each with its reason (the report). */
export const archiveSkips = sqliteTable(
  "archive_skips",
  {
    importId: text("import_id").notNull(),
    /** The item's index in outbox.json (-1: the archive as a whole). */
    item: integer("item").notNull(),
    kind: text("kind").$type<ArchiveSkipKind>().notNull(),
    /** What was skipped: the old post's id, the attachment's path. */
    ref: text("ref").notNull(),
    reason: text("reason").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.item, t.kind, t.ref] })],
);

/**
 * The central directory of a job's archive, read into D1 a slice per chunk before its outbox, so a
 * chunk finds its media by key (names.ts `mediaKey`) with one query instead of re-reading the whole
 * directory (measured: ~6 µs per entry, 12 ms for 2,000 media and 131 ms for 20,000, far past a Free
 * invocation). One row per file, the first of a key kept; the rows go when the job ends.
 * WITHOUT ROWID (added in the migration by hand): the primary key is the table, so a row costs one
 * written row, not two.
 */
export const archiveEntries = sqliteTable(
  "archive_entries",
  {
    importId: text("import_id").notNull(),
    key: text("key").notNull(),
    name: text("name").notNull(),
    method: integer("method").notNull(),
    flags: integer("flags").notNull(),
    crc32: integer("crc32").notNull(),
    compressedSize: integer("compressed_size").notNull(),
    size: integer("size").notNull(),
    localHeaderOffset: integer("local_header_offset").notNull(),
    /** The entry's date, ms since 1970. */
    modified: integer("modified").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.key] })],
);
