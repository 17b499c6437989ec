/**
 * Exporting the owner's archive in Mastodon's format: one row per export job. The ZIP is written into
 * an R2 multipart upload over many chunks (services/archive-export/run.ts); what the writer must
 * remember between chunks is here (`writer`: the parts uploaded, where the unsent tail and the central
 * directory so far are kept in R2, the entry left open), with where the next chunk starts (`phase`,
 * `cursor`). The last finished export is kept until a new one replaces it.
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

export type ArchiveExportState = "queued" | "running" | "done" | "failed";

/** The order an export writes its parts in (run.ts). */
export type ArchiveExportPhase = "actor" | "media" | "outbox" | "likes" | "bookmarks" | "finish" | "done";

export interface ExportSkip {
  ref: string;
  reason: string;
}

export const archiveExports = sqliteTable("archive_exports", {
  id: text("id").primaryKey(),
  state: text("state").$type<ArchiveExportState>().notNull().default("queued"),
  phase: text("phase").$type<ArchiveExportPhase>().notNull().default("actor"),
  /** The last status, favourite or bookmark id the phase has written; null: from the start. */
  cursor: text("cursor"),
  /** The largest status id when the export started: later posts are not in it. */
  snapshot: text("snapshot").notNull(),
  /** The ZIP in R2, and its multipart upload until it is complete. */
  key: text("key").notNull(),
  uploadId: text("upload_id").notNull(),
  /** The resumable writer's state (services/archive-export/zip-session.ts), JSON. */
  writer: text("writer", { mode: "json" }).$type<unknown>().notNull(),
  statusesTotal: integer("statuses_total").notNull().default(0),
  statusesDone: integer("statuses_done").notNull().default(0),
  mediaDone: integer("media_done").notNull().default(0),
  /** What is not in the archive, each with its reason (a media file missing from R2, say). */
  skips: text("skips", { mode: "json" }).$type<ExportSkip[]>().notNull().default([]),
  size: integer("size"),
  leaseUntil: text("lease_until"),
  failures: integer("failures").notNull().default(0),
  error: text("error"),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
  finishedAt: text("finished_at"),
});
