/**
 * CSV imports in Mastodon's formats (services/imports/): a job per uploaded file and a row per line
 * of it, each row settled once (done, or failed with its reason) by the background chunks.
 */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

export type ImportKind = "following" | "blocking" | "muting" | "domain_blocking" | "bookmarks" | "lists";
export type ImportMode = "merge" | "overwrite";
/** `overwrite`: removing what the file does not hold; `rows`: applying its rows; then `finished`. */
export type ImportPhase = "overwrite" | "rows" | "finished";
export type ImportRowState = "pending" | "done" | "failed";

export const importJobs = sqliteTable("import_jobs", {
  id: text("id").primaryKey(),
  kind: text("kind").$type<ImportKind>().notNull(),
  mode: text("mode").$type<ImportMode>().notNull(),
  filename: text("filename"),
  phase: text("phase").$type<ImportPhase>().notNull(),
  total: integer("total").notNull(),
  /** Every row below this sequence number is settled: a chunk starts its search here. */
  cursor: integer("cursor").notNull().default(0),
  /** While a chunk runs, until when it holds the job: no other invocation processes it meanwhile. */
  leaseUntil: text("lease_until"),
  /**
   * The queue message chain that drives the job: a message of another chain is dropped, so that the
   * cron's restart of a stalled job never leaves two chains running.
   */
  chain: text("chain").notNull(),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
  finishedAt: text("finished_at"),
});

export const importRows = sqliteTable(
  "import_rows",
  {
    jobId: text("job_id").notNull(),
    /** The row's place in the file, from 0, header excluded. */
    seq: integer("seq").notNull(),
    /**
     * What overwrite mode compares the owner's current state with (an address, domain, URI, or list
     * name and address); null for a row that failed at parse time.
     */
    key: text("key"),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    state: text("state").$type<ImportRowState>().notNull(),
    reason: text("reason"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] }), index("import_rows_key").on(t.jobId, t.key)],
);
