// The second baseline for bench/inbox.mjs: a Worker doing the platform I/O an inbox must do and
// nothing else. Its fetch handler inserts the activity id into D1 and queues the body; its consumer
// inserts one row per message. The difference between Perch and this is Perch's own work.
let ready;
// Tables are created once per isolate, outside the measured per-request work.
const schema = (env) =>
  (ready ??= env.DB.batch([
    env.DB.prepare("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at TEXT) WITHOUT ROWID"),
    env.DB.prepare("CREATE TABLE IF NOT EXISTS posts (id TEXT PRIMARY KEY, uri TEXT UNIQUE, content TEXT)"),
  ]));

export default {
  async fetch(request, env) {
    await schema(env);
    if (request.method === "GET") {
      const row = await env.DB.prepare("SELECT count(*) AS n FROM posts")
        .first()
        .catch(() => ({ n: 0 }));
      return Response.json({ posts: row?.n ?? 0 });
    }
    const body = await request.text();
    await env.DB.prepare("INSERT INTO seen (id) VALUES (?) ON CONFLICT DO NOTHING")
      .bind(crypto.randomUUID())
      .run();
    await env.Q.send({ body }, { contentType: "json" });
    return new Response(null, { status: 202 });
  },
  async queue(batch, env) {
    await schema(env);
    for (const m of batch.messages) {
      await env.DB.prepare("INSERT INTO posts (id, uri, content) VALUES (?, ?, ?)")
        .bind(crypto.randomUUID(), crypto.randomUUID(), m.body.body)
        .run();
      m.ack();
    }
  },
};
