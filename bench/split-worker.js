// bench:plan's Worker: Perch itself, with its D1 binding carried to bench/d1-host.js in another
// wrangler dev session (a service binding through the dev registry). Statements, batches, results,
// meta and errors pass unchanged; the extra hop is loopback HTTP, which costs this process at least
// what D1's own client costs on Cloudflare. Not deployed.
// For bench:plan's cron figures, a scheduled event whose cron is `bench-turn:even` (or odd) is a run of
// that turn, and one whose cron is `bench-job:N` runs only the cron's
// job N (GET /__bench/cron-jobs lists them; `bench-job:none` none).
import perch from "../worker/index.ts";
import { upkeepJobs } from "../worker/queues/upkeep.ts";
import { meterInvocation } from "../worker/services/usage.ts";
import { remoteD1 } from "./remote-d1.js";

const wrapped = new WeakMap();
const withRemoteD1 = (env) => {
  let e = wrapped.get(env);
  if (!e) wrapped.set(env, (e = { ...env, DB: remoteD1(env.D1_HOST) }));
  return e;
};

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/cron-jobs")
      return Response.json((await upkeepJobs(withRemoteD1(env))).map((j) => j.name));
    return perch.fetch(request, withRemoteD1(env), ctx);
  },
  queue: (batch, env, ctx) => perch.queue(batch, withRemoteD1(env), ctx),
  scheduled(controller, env, ctx) {
    // `bench-turn:even|odd`: a whole run of that turn (upkeep.ts runs some jobs every other run).
    const turn = /^bench-turn:(even|odd)$/.exec(controller.cron ?? "");
    if (turn) {
      const quarter = 15 * 60_000;
      const at = Math.floor(Date.now() / quarter) * quarter;
      const even = Math.floor(at / quarter) % 2 === 0;
      const scheduledTime = even === (turn[1] === "even") ? at : at + quarter;
      return perch.scheduled({ cron: controller.cron, scheduledTime, noRetry() {} }, withRemoteD1(env), ctx);
    }
    const job = /^bench-job:(\d+|none)$/.exec(controller.cron ?? "");
    if (!job) return perch.scheduled(controller, withRemoteD1(env), ctx);
    // `none`: only what every job needs first (the configuration and the context). Metered as the
    // cron is, so that the dashboard counts the invocation.
    const e = withRemoteD1(env);
    ctx.waitUntil(
      meterInvocation(
        e,
        "cron",
        (p) => ctx.waitUntil(p),
        async () => {
          const jobs = await upkeepJobs(e);
          if (job[1] !== "none") await jobs[Number(job[1])].run();
        },
      ),
    );
  },
};
