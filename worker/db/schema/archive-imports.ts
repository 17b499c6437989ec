/**
 * Importing a Mastodon archive: the job (an upload, then phases driven in chunks by the import
 * queue), the parts uploaded so far (R2's binding cannot list them, and a reloaded page resumes from
 * them), which old post became which status (so nothing is imported twice, across re-runs too), and
 * what was skipped and why.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

export type ArchiveImportState = "uploading" | "queued" | "running" | "done" | "failed";
/**
 * Where a running job is: a .tar.gz is first turned into a ZIP ("convert",
 * services/archive-import/convert.ts; a .zip starts at the outbox); its outbox, then actor.json (the old profile, its images staged out of the
 * archive), likes.json and bookmarks.json (recorded as relinks), after which the archive is deleted;
 * then the relinks are resolved a few at a time, and the posts announced if the owner asked for it.
 */
export type ArchiveImportPhase =
  "convert" | "outbox" | "actor" | "likes" | "bookmarks" | "relinks" | "announce";

/** The old profile from actor.json, sanitized, its images copied out of the archive (staged keys). */
export interface ArchivedProfile {
  name: string;
  bio: string;
  fields: { name: string; value: string }[];
  avatarKey: string | null;
  headerKey: string | null;
}

/** The owner's answer to the old profile: null while there is none to give. */
export type ArchiveProfileState = "pending" | "applied" | "declined";

export const archiveImports = sqliteTable("archive_imports", {
  id: text("id").primaryKey(),
  state: text("state").$type<ArchiveImportState>().notNull().default("uploading"),
  filename: text("filename").notNull(),
  size: integer("size").notNull(),
  /** The archive in R2, and its multipart upload while the state is "uploading". */
  key: text("key").notNull(),
  uploadId: text("upload_id").notNull(),
  partSize: integer("part_size").notNull(),
  phase: text("phase").$type<ArchiveImportPhase>().notNull().default("outbox"),
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
  /** The owner asked for the imported public and unlisted posts to be delivered to followers. */
  announce: integer("announce", { mode: "boolean" }).notNull().default(false),
  /** Where the phase after the outbox is (likes.json's chunk checkpoint, the last announced status). */
  phaseCheckpoint: text("phase_checkpoint", { mode: "json" }).$type<unknown>(),
  boostsImported: integer("boosts_imported").notNull().default(0),
  likesImported: integer("likes_imported").notNull().default(0),
  bookmarksImported: integer("bookmarks_imported").notNull().default(0),
  /** Relinks that found their target already boosted, liked or bookmarked. */
  relinksAlready: integer("relinks_already").notNull().default(0),
  postsAnnounced: integer("posts_announced").notNull().default(0),
  profile: text("profile", { mode: "json" }).$type<ArchivedProfile>(),
  profileState: text("profile_state").$type<ArchiveProfileState>(),
  /** When the archive (and, for a discarded job, its staged files) left R2. */
  archiveDeletedAt: text("archive_deleted_at"),
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

export type ArchiveSkipKind = "post" | "media" | "boost" | "like" | "bookmark" | "profile" | "item";

export type ArchiveRelinkKind = "boost" | "like" | "bookmark";

/**
 * A boost, like or bookmark of the archive to make again, by the URI of its post: recorded as the
 * outbox (Announce items), likes.json and bookmarks.json pass, resolved a few at a time after them,
 * and deleted once it became a boost, favourite or bookmark, or a skip with its reason. The primary
 * key makes a URI listed twice one relink.
 */
export const archiveRelinks = sqliteTable(
  "archive_relinks",
  {
    importId: text("import_id").notNull(),
    kind: text("kind").$type<ArchiveRelinkKind>().notNull(),
    uri: text("uri").notNull(),
    /** Its place: the outbox item for a boost, the index in likes.json or bookmarks.json. */
    item: integer("item").notNull(),
    /** A boost's original date and visibility. */
    published: text("published"),
    visibility: text("visibility").$type<"public" | "unlisted" | "private">(),
    /** Tries that failed in a way another try may fix (the post's server did not answer). */
    attempts: integer("attempts").notNull().default(0),
    /** After such a try, not before this time (ISO 8601). */
    retryAt: text("retry_at"),
  },
  (t) => [primaryKey({ columns: [t.importId, t.kind, t.uri] })],
);

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
