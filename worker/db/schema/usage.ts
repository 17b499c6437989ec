/** Perch's own metering: platform usage and queue figures per UTC hour, for the owner's dashboard. */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What Perch itself metered of what the platform bills, per UTC hour ("YYYY-MM-DDTHH"): gathered per
 * isolate and written as one upsert per hour every few seconds (services/usage.ts). WITHOUT ROWID
 * (migration 0008): one row written per update.
 */
export const usageHours = sqliteTable("usage_hours", {
  hour: text("hour").primaryKey(),
  /** Worker invocations: HTTP requests, queue batches, cron runs. */
  requests: integer("requests").notNull().default(0),
  queueBatches: integer("queue_batches").notNull().default(0),
  subrequests: integer("subrequests").notNull().default(0),
  d1Queries: integer("d1_queries").notNull().default(0),
  d1RowsRead: integer("d1_rows_read").notNull().default(0),
  d1RowsWritten: integer("d1_rows_written").notNull().default(0),
  /** Queue operations as billed: one per 64 KB written, read or deleted. */
  queueOps: integer("queue_ops").notNull().default(0),
  /** R2 class A (writes, lists) and class B (reads) operations. */
  r2ClassA: integer("r2_class_a").notNull().default(0),
  r2ClassB: integer("r2_class_b").notNull().default(0),
  /** The most any one invocation of the hour made of each per-invocation limit. */
  maxSubrequests: integer("max_subrequests").notNull().default(0),
  maxD1Queries: integer("max_d1_queries").notNull().default(0),
});

/** Messages per queue per UTC hour: sent, processed (acked), retried, failed (dead letters). WITHOUT ROWID. */
export const queueStats = sqliteTable(
  "queue_stats",
  {
    queue: text("queue").notNull(),
    hour: text("hour").notNull(),
    sent: integer("sent").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    /** The oldest message seen by a consumer this hour: how far behind the queue ran (ms). */
    maxLagMs: integer("max_lag_ms").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.queue, t.hour] })],
);
