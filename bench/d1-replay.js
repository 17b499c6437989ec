// bench:plan's replay Worker: makes again, in one request, the D1 calls bench/d1-host.js recorded (a
// request of each call's length, the recorded answer back, parsed as bench/remote-d1.js parses it),
// those that were in flight together at once again. Its process's CPU for that, above one request's
// floor, is what carrying those calls cost Perch's process; D1's own client on Cloudflare costs
// less. It also POSTs bodies of the sizes Perch's deliveries had to a sink: what sending them cost
// Perch's process locally (on Cloudflare, a subrequest's network time is not the Worker's CPU).
// Not deployed.
export default {
  async fetch(request, env) {
    const { from = 0, calls = [], posts = [], sink } = await request.json();
    const call = async ([length], i) => {
      const r = await env.D1_HOST.fetch(`http://d1/replay?i=${from + i}`, {
        method: "POST",
        body: "x".repeat(length),
      });
      if (!r.ok) throw new Error(`call ${from + i}: ${r.status}`);
      await r.json();
    };
    // Calls of one group (in flight together when recorded) go together again.
    for (let i = 0; i < calls.length;) {
      let j = i + 1;
      while (j < calls.length && calls[j][1] === calls[i][1]) j++;
      await Promise.all(calls.slice(i, j).map((c, k) => call(c, i + k)));
      i = j;
    }
    for (const size of posts) {
      const r = await fetch(sink, {
        method: "POST",
        headers: { "content-type": "application/activity+json", signature: "s".repeat(560) },
        body: "x".repeat(size),
      });
      await r.arrayBuffer();
    }
    return Response.json({ calls: calls.length, posts: posts.length });
  },
};
