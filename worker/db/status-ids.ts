import { sql, type SQL } from "drizzle-orm";
import { idMillis } from "../lib/ids";

/** The lower half of a millisecond's 16 low bits (see lib/ids.ts): where statusIdAt allocates. */
const LOWER_HALF = 0x8000n;

/**
 * The id of a status dated `at`, allocated inside its INSERT: one more than the largest id already in
 * the lower half of that millisecond, or the first one. D1 runs each statement (and each batch)
 * atomically, so two posts with the same `published` can never get the same id, whichever isolate
 * stores them. Ids are TEXT of equal length, so the text MAX is the numeric one, found on the primary
 * key's index (a row read or two).
 *
 * More than 32,768 statuses dated within one millisecond would run into the upper half, where an id
 * made by newId() could already be: the INSERT then fails loudly (the primary key), it never stores
 * nothing silently.
 */
export function statusIdAt(at: Date | number): SQL<string> {
  const lo = BigInt(idMillis(at)) << 16n;
  const hi = lo + LOWER_HALF - 1n;
  return sql<string>`(SELECT COALESCE(CAST(CAST(MAX(id) AS INTEGER) + 1 AS TEXT), ${lo.toString()})
    FROM statuses WHERE id >= ${lo.toString()} AND id <= ${hi.toString()})`;
}
