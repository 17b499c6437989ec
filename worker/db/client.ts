import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { meterD1 } from "./metered";
import * as schema from "./schema";

export type DB = DrizzleD1Database<typeof schema>;

const clients = new WeakMap<DB, D1Database>();
const opened = new WeakMap<D1Database, DB>();

/**
 * The drizzle client over a D1 binding, made once per binding and isolate: making one walks the
 * whole schema (its relational config), which cost more CPU than the queries of a relayed activity.
 * The client holds no per-request state (D1 has no transactions to keep), so requests share it.
 */
export function openDb(d1: D1Database): DB {
  let db = opened.get(d1);
  if (db) return db;
  const metered = meterD1(d1);
  db = drizzle(metered, { schema });
  clients.set(db, metered);
  opened.set(d1, db);
  return db;
}

/** The (metered) D1 binding behind a DB, for the rare statement drizzle cannot build, such as INSERT … SELECT. */
export function d1Of(db: DB): D1Database {
  const client = clients.get(db);
  if (!client) throw new Error("DB was not opened with openDb");
  return client;
}

export type Account = typeof schema.accounts.$inferSelect;
export type NewAccount = typeof schema.accounts.$inferInsert;
export type Status = typeof schema.statuses.$inferSelect;
export type NewStatus = typeof schema.statuses.$inferInsert;
export type Follow = typeof schema.follows.$inferSelect;
export type InstanceRow = typeof schema.instance.$inferSelect;
