// bench:plan's D1 host: the owner's D1 database served from a wrangler dev session of its own, so that
// the SQL runs in another workerd process, as D1 runs outside the Worker on Cloudflare. Perch's session
// (bench/split-worker.js) sends each statement or batch here. While recording, the host keeps every
// request and answer, so that bench/d1-replay.js can make the same calls again, answered from the
// record: what that costs its process is what carrying D1's calls costs, to take out of Perch's
// figures. Not deployed.
const blob = (v) =>
  v && typeof v === "object" && "$blob" in v ? Uint8Array.from(atob(v.$blob), (c) => c.charCodeAt(0)) : v;
const bound = (env, { sql, params }) => {
  const stmt = env.DB.prepare(sql);
  return params.length ? stmt.bind(...params.map(blob)) : stmt;
};

async function run(env, { mode, statement, statements }) {
  if (mode === "batch") return env.DB.batch(statements.map((s) => bound(env, s)));
  const stmt = bound(env, statement);
  if (mode === "run") return stmt.run();
  if (mode === "all") return stmt.all();
  if (mode === "raw") return stmt.raw();
  if (mode === "rawNames") return stmt.raw({ columnNames: true });
  if (mode === "exec") return env.DB.exec(statement.sql);
  throw new Error(`unknown mode ${mode}`);
}

// While recording: per call, the length of its request, its answer, and its group: calls that were
// in flight together (a Promise.all), which the replay makes together too.
let record = null;
let replayable = [];
let inFlight = 0;
let group = 0;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/") return new Response("d1 host");
    // The bench's controls: start recording, take the record (and stop), and answer a replayed call.
    if (url.pathname === "/record/start") {
      record = [];
      return new Response("recording");
    }
    if (url.pathname === "/record/take") {
      replayable = record ?? [];
      record = null;
      return Response.json(replayable.map(([length, , g]) => [length, g]));
    }
    if (url.pathname === "/replay") {
      await request.arrayBuffer();
      const answer = replayable[Number(url.searchParams.get("i"))]?.[1];
      if (answer === undefined) return new Response("no such call", { status: 404 });
      return new Response(answer, { headers: { "content-type": "application/json" } });
    }
    const body = await request.text();
    if (inFlight++ === 0) group++;
    const mine = group;
    let answer;
    try {
      answer = JSON.stringify({ ok: await run(env, JSON.parse(body)) });
    } catch (e) {
      answer = JSON.stringify({ error: String(e?.message ?? e) });
    }
    inFlight--;
    record?.push([body.length, answer, mine]);
    return new Response(answer, { headers: { "content-type": "application/json" } });
  },
};
