/** D1 binds at most 100 parameters a query: lists for `IN (…)` go in chunks of this many. */
export const IN_CHUNK = 90;

/** Splits a list for `IN (…)` so no query binds more than D1's 100 parameters. */
export function chunks<T>(list: T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Runs a query per chunk of `list`, in parallel, and joins the rows; none for an empty list. */
export async function inChunks<T, R>(list: T[], run: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  if (list.length === 0) return [];
  return (await Promise.all(chunks(list).map(run))).flat();
}
