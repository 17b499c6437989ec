// bench:plan's Worker: Perch itself, with its D1 binding carried to bench/d1-host.js in another
// wrangler dev session (a service binding through the dev registry). Statements, batches, results,
// meta and errors pass unchanged; the extra hop is loopback HTTP, which costs this process at least
// what D1's own client costs on Cloudflare. Not deployed.
import perch from "../worker/index.ts";
import { remoteD1 } from "./remote-d1.js";

const wrapped = new WeakMap();
const withRemoteD1 = (env) => {
  let e = wrapped.get(env);
  if (!e) wrapped.set(env, (e = { ...env, DB: remoteD1(env.D1_HOST) }));
  return e;
};

export default {
  fetch: (request, env, ctx) => perch.fetch(request, withRemoteD1(env), ctx),
  queue: (batch, env, ctx) => perch.queue(batch, withRemoteD1(env), ctx),
  scheduled: (controller, env, ctx) => perch.scheduled(controller, withRemoteD1(env), ctx),
};
