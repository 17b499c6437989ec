import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { meterD1 } from "./metered";
import * as schema from "./schema";

export type DB = DrizzleD1Database<typeof schema>;

const clients = new WeakMap<DB, D1Database>();

export function openDb(d1: D1Database): DB {
  const metered = meterD1(d1);
  const db = drizzle(metered, { schema });
  clients.set(db, metered);
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
