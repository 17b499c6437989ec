/**
 * Ids are numeric strings that sort by time, as Mastodon clients expect: milliseconds since the epoch
 * shifted left 16 bits, plus 16 random bits. They stay 18 digits long until the 25th century, so string
 * order equals numeric order.
 */
export function newId(at: Date | number = Date.now()): string {
  const ms = BigInt(typeof at === "number" ? at : at.getTime());
  const rand = crypto.getRandomValues(new Uint16Array(1))[0] ?? 0;
  return ((ms << 16n) | BigInt(rand)).toString();
}

/** The smallest id that could have been made at `at`: for "since this time" queries. */
export function minIdAt(at: Date | number): string {
  const ms = BigInt(typeof at === "number" ? at : at.getTime());
  return (ms << 16n).toString();
}
