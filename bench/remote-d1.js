// The D1 client of bench:plan's split (bench/split-worker.js): a D1Database over a service binding to
// bench/d1-host.js. Statements, batches, results, meta and errors pass unchanged. Not deployed.
const toB64 = (bytes) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};
const param = (v) =>
  v instanceof ArrayBuffer
    ? { $blob: toB64(new Uint8Array(v)) }
    : ArrayBuffer.isView(v)
      ? { $blob: toB64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) }
      : v;

export function remoteD1(host) {
  const call = async (body) => {
    const r = await host.fetch("http://d1/", { method: "POST", body: JSON.stringify(body) });
    const answer = await r.json();
    if ("error" in answer) throw new Error(answer.error);
    return answer.ok;
  };
  const statement = (sql, params = []) => ({
    sql,
    params,
    bind: (...values) => statement(sql, values.map(param)),
    all: () => call({ mode: "all", statement: { sql, params } }),
    run: () => call({ mode: "run", statement: { sql, params } }),
    raw: (options) => call({ mode: options?.columnNames ? "rawNames" : "raw", statement: { sql, params } }),
    first: async (column) => {
      const { results } = await call({ mode: "all", statement: { sql, params } });
      const row = results[0];
      if (row === undefined) return null;
      return column === undefined ? row : (row[column] ?? null);
    },
  });
  return {
    prepare: (sql) => statement(sql),
    batch: (statements) =>
      call({ mode: "batch", statements: statements.map(({ sql, params }) => ({ sql, params })) }),
    exec: (sql) => call({ mode: "exec", statement: { sql, params: [] } }),
  };
}
