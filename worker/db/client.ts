import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { meterD1 } from "./metered";
import * as schema from "./schema";

export type DB = DrizzleD1Database<typeof schema>;

export function openDb(d1: D1Database): DB {
  return drizzle(meterD1(d1), { schema });
}

export type Account = typeof schema.accounts.$inferSelect;
export type NewAccount = typeof schema.accounts.$inferInsert;
export type Status = typeof schema.statuses.$inferSelect;
export type NewStatus = typeof schema.statuses.$inferInsert;
export type Follow = typeof schema.follows.$inferSelect;
export type InstanceRow = typeof schema.instance.$inferSelect;
