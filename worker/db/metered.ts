import { meter } from "../services/usage";

/**
 * D1 usage counters for this isolate: queries, rows read and rows written as D1 bills them (each index
 * entry counts as a row written). They feed the owner's metrics and the inbox benchmark.
 */
export interface D1Usage {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  since: string;
}

export const d1Usage: D1Usage = { queries: 0, rowsRead: 0, rowsWritten: 0, since: new Date().toISOString() };

function record(meta: { rows_read?: number; rows_written?: number } | undefined) {
  d1Usage.queries++;
  d1Usage.rowsRead += meta?.rows_read ?? 0;
  d1Usage.rowsWritten += meta?.rows_written ?? 0;
  // And to the invocation running it, for the owner's usage figures.
  meter({ d1Queries: 1, d1RowsRead: meta?.rows_read ?? 0, d1RowsWritten: meta?.rows_written ?? 0 });
}

const WRITE = /^\s*(insert|update|delete|replace|with)\b/i;

/**
 * Per SQL text: whether its result columns have distinct names that keep their order as object keys
 * (no integer-like names, which objects sort first). Learned on a statement's first run.
 */
const distinctColumns = new Map<string, boolean>();
const MAX_LEARNED = 2000;

function learnColumns(sql: string, names: string[] | undefined) {
  if (!names) return;
  if (distinctColumns.size >= MAX_LEARNED) distinctColumns.clear();
  distinctColumns.set(sql, new Set(names).size === names.length && !names.some((n) => /^\d+$/.test(n)));
}

function recordRaw(rows: number) {
  d1Usage.queries++;
  d1Usage.rowsRead += rows;
  meter({ d1Queries: 1, d1RowsRead: rows });
}
const real = new WeakMap<object, D1PreparedStatement>();

function meterStatement(stmt: D1PreparedStatement, sql: string): D1PreparedStatement {
  const metered: D1PreparedStatement = {
    bind: (...values: unknown[]) => meterStatement(stmt.bind(...values), sql),
    // first() carries no meta: run through all(), which costs the same rows, so reads are counted.
    first: (async (column?: string) => {
      const r = await stmt.all<Record<string, unknown>>();
      record(r.meta);
      const row = r.results[0];
      if (row === undefined) return null;
      return column === undefined ? row : (row[column] ?? null);
    }) as D1PreparedStatement["first"],
    run: (async () => {
      const r = await stmt.run();
      record(r.meta);
      return r;
    }) as D1PreparedStatement["run"],
    all: (async () => {
      const r = await stmt.all();
      record(r.meta);
      return r;
    }) as D1PreparedStatement["all"],
    // raw() carries no meta, and drizzle reads every select through it. A statement whose columns
    // have distinct names (known from its first run, by its SQL) runs through all() instead, which
    // reports rows read and written, its rows turned back into arrays in column order. Columns that
    // share a name (a join selecting two tables' `id`) would collapse in all()'s objects: those
    // stay on raw(), counted as queries with their rows returned as rows read (a floor).
    raw: (async (options?: { columnNames?: boolean }) => {
      if (options?.columnNames) {
        const r = await stmt.raw({ columnNames: true });
        learnColumns(sql, r[0] as string[] | undefined);
        recordRaw(r.length - 1);
        return r;
      }
      const distinct = distinctColumns.get(sql);
      if (distinct === undefined && !WRITE.test(sql)) {
        const [names, ...rows] = await stmt.raw({ columnNames: true });
        learnColumns(sql, names as string[] | undefined);
        recordRaw(rows.length);
        return rows;
      }
      if (distinct === false) {
        const rows = await stmt.raw();
        recordRaw(rows.length);
        return rows;
      }
      const r = await stmt.all<Record<string, unknown>>();
      record(r.meta);
      return r.results.map((row) => Object.values(row));
    }) as D1PreparedStatement["raw"],
  } as D1PreparedStatement;
  real.set(metered, stmt);
  return metered;
}

export function meterD1(d1: D1Database): D1Database {
  return {
    prepare: (sql: string) => meterStatement(d1.prepare(sql), sql),
    batch: async <T>(statements: D1PreparedStatement[]) => {
      const results = await d1.batch<T>(statements.map((s) => real.get(s) ?? s));
      for (const r of results) record(r.meta);
      return results;
    },
    exec: async (sql: string) => {
      d1Usage.queries++;
      meter({ d1Queries: 1 });
      return d1.exec(sql);
    },
    dump: () => d1.dump(),
    withSession: (constraint?: string) => d1.withSession(constraint),
  } as D1Database;
}
