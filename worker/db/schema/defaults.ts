/** Column defaults shared by the tables of every concept file. */
import { sql } from "drizzle-orm";

/** The insert time, in the format of `Date.prototype.toISOString()` (UTC, milliseconds). */
export const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
