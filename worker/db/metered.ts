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
}

const WRITE = /^\s*(insert|update|delete|replace|with)\b/i;
const real = new WeakMap<object, D1PreparedStatement>();

function meterStatement(stmt: D1PreparedStatement, sql: string): D1PreparedStatement {
  const metered: D1PreparedStatement = {
    bind: (...values: unknown[]) => meterStatement(stmt.bind(...values), sql),
    first: ((column?: string) => {
      d1Usage.queries++;
      return column === undefined ? stmt.first() : stmt.first(column);
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
    // raw() carries no meta. A write with RETURNING (one table, so no duplicate column names) runs
    // through all() instead, so that what it wrote is counted; reads stay on raw().
    raw: (async (options?: { columnNames?: boolean }) => {
      if (!WRITE.test(sql) || options?.columnNames) {
        d1Usage.queries++;
        return options?.columnNames ? stmt.raw({ columnNames: true }) : stmt.raw();
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
      return d1.exec(sql);
    },
    dump: () => d1.dump(),
    withSession: (constraint?: string) => d1.withSession(constraint),
  } as D1Database;
}
