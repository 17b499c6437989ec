/**
 * Ids are numeric strings that sort by time, as Mastodon clients expect: milliseconds since the epoch
 * shifted left 16 bits, plus 16 low bits. D1 compares them as TEXT, so they must all have the same
 * number of digits: 18, from FLOOR_MS (May 2018) until the 25th century. A time before the floor is
 * taken as the floor (old posts, fetched or imported, then sort among themselves by when they were
 * stored, and below everything newer).
 *
 * The low 16 bits are split in two halves so that the two ways of making an id never meet:
 * - ids made now, in this isolate (`newId()`), use the upper half: 0x8000 plus 15 bits that start
 *   random and then only grow, so one isolate never makes the same id twice;
 * - ids of statuses dated by their author (`published`) are allocated inside their INSERT by
 *   `statusIdAt` (db/status-ids.ts): the lowest free value of the lower half in that millisecond,
 *   unique by construction because D1 runs the statement atomically.
 */
export const FLOOR_MS = 1_525_878_906_250;

const UPPER_HALF = 0x8000n;
let last = 0n;

/** The millisecond an id is made for, never before the floor. */
export function idMillis(at: Date | number): number {
  const ms = typeof at === "number" ? at : at.getTime();
  return Math.max(FLOOR_MS, Math.floor(Number.isFinite(ms) ? ms : Date.now()));
}

/**
 * A new id for a row made now (or at `at`): in the upper half of its millisecond, strictly greater
 * than every id this isolate made before when made for now.
 */
export function newId(at?: Date | number): string {
  const ms = BigInt(idMillis(at ?? Date.now()));
  const rand = BigInt((crypto.getRandomValues(new Uint16Array(1))[0] ?? 0) & 0x7fff);
  let id = (ms << 16n) | UPPER_HALF | rand;
  if (at === undefined) {
    // Monotonic within the isolate: a second id in the same millisecond (or after a clock step back)
    // takes the next value instead of a fresh random one that could repeat.
    if (id <= last) id = last + 1n;
    // Spilling over into the next millisecond lands in its lower half, which belongs to statusIdAt.
    if ((id & 0xffffn) < UPPER_HALF) id |= UPPER_HALF;
    last = id;
  }
  return id.toString();
}

/** The smallest id that could have been made at `at`: for "since this time" queries. */
export function minIdAt(at: Date | number): string {
  return (BigInt(idMillis(at)) << 16n).toString();
}
