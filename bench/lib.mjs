// Shared pieces of the benchmarks: starting wrangler dev, reading workerd CPU time from /proc, load.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export function applyMigrations(persist) {
  const r = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  if (r.status !== 0) throw new Error(`migrations failed: ${r.stderr}`);
}

/**
 * Starts `wrangler dev` with `args`. Each gets a dev registry of its own (dev servers sharing one
 * reload whenever another starts or stops), unless `registry` names one that sessions bound to each
 * other (a service binding from one to the other) share. `detached` puts it in a process group of
 * its own, which a bench can kill whole (wrangler and its workerd processes) as a crash would.
 */
export function wranglerDev(args, { registry, detached = false } = {}) {
  const child = spawn("wrangler", ["dev", ...args], {
    detached,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
      WRANGLER_REGISTRY_PATH: registry ?? mkdtempSync(join(tmpdir(), "perch-registry-")),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  return { child, log: () => log };
}

/**
 * Perch split in two wrangler dev sessions, for bench:plan's CPU figures: the D1 database in a session
 * of its own (bench/d1-host.js), Perch in another (bench/split-worker.js, every other binding of
 * wrangler.toml) reaching it by a service binding, so that SQLite's CPU is not Perch's process's, as
 * on Cloudflare; and a third Worker (bench/d1-replay.js) that makes the calls the host recorded again,
 * to measure what carrying them costs. Writes the three configs into `dir` and returns their paths.
 */
export function splitConfigs(dir) {
  const here = dirname(fileURLToPath(import.meta.url));
  const main = readFileSync(join(here, "..", "wrangler.toml"), "utf8").split(/^\[env\.test\]/m)[0];
  const d1 = /^\[\[d1_databases\]\]\n(?:[a-z_]+ = .*\n)+/m;
  const block = main.match(d1)?.[0];
  if (!block) throw new Error("wrangler.toml has no [[d1_databases]] block");
  const name = block.match(/database_name = "(.*)"/)[1];
  mkdirSync(dir, { recursive: true });
  const perch = join(dir, "perch.toml");
  const host = join(dir, "d1-host.toml");
  writeFileSync(
    perch,
    main.replace(/^main = .*$/m, `main = ${JSON.stringify(join(here, "split-worker.js"))}`).replace(d1, "") +
      '\n[[services]]\nbinding = "D1_HOST"\nservice = "perch-bench-d1"\n',
  );
  writeFileSync(
    host,
    [
      'name = "perch-bench-d1"',
      `main = ${JSON.stringify(join(here, "d1-host.js"))}`,
      'compatibility_date = "2026-11-01"',
      "[[d1_databases]]",
      'binding = "DB"',
      `database_name = "${name}"`,
      "",
    ].join("\n"),
  );
  const replay = join(dir, "d1-replay.toml");
  writeFileSync(
    replay,
    [
      'name = "perch-bench-d1-replay"',
      `main = ${JSON.stringify(join(here, "d1-replay.js"))}`,
      'compatibility_date = "2026-11-01"',
      "[[services]]",
      'binding = "D1_HOST"',
      'service = "perch-bench-d1"',
      "",
    ].join("\n"),
  );
  return { perch, host, replay };
}

export async function waitFor(what, probe, timeoutMs = 60_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function children() {
  const map = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!map.has(ppid)) map.set(ppid, []);
      map.get(ppid).push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return map;
}

/** The workerd processes below `rootPid`, each with its command line. */
function workerdsBelow(rootPid) {
  const tree = children();
  const found = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    for (const c of tree.get(pid) ?? []) stack.push(c);
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("workerd")) found.push({ pid, cmd });
    } catch {
      // gone
    }
  }
  return found;
}

/** CPU seconds (user + system) of every workerd process below `rootPid`. */
export function workerdCpuSeconds(rootPid) {
  const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  let total = 0;
  for (const { pid } of workerdsBelow(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // gone
    }
  }
  return total;
}

/**
 * CPU milliseconds (user + system, from schedstat's nanoseconds) of the workerd process below
 * `rootPid` that runs the Worker: the one wrangler dev starts with an inspector. Its other workerd
 * process (the proxy in front, which forwards requests and the inspector) does not run on Cloudflare.
 */
export function runtimeCpuMs(rootPid) {
  return processCpuMs(runtimePid(rootPid));
}

/** The pid of the workerd process below `rootPid` that runs the Worker (see runtimeCpuMs). */
export function runtimePid(rootPid) {
  const runtime = workerdsBelow(rootPid).find(({ cmd }) => cmd.includes("--inspector-addr"));
  if (!runtime) throw new Error(`no workerd runtime below ${rootPid}`);
  return runtime.pid;
}

/** CPU milliseconds of every thread of process `pid`, from schedstat (nanoseconds). */
export function processCpuMs(pid) {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e6;
}

/** Sends every prepared request with `concurrency` in flight; returns latencies (ms) and statuses. */
export async function load(requests, concurrency) {
  const latencies = [];
  const statuses = new Map();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const r = requests[next++];
        const t = performance.now();
        const res = await fetch(r.url, { method: "POST", headers: r.headers, body: r.body });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies, statuses };
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * A V8 CPU profile of the Worker under `wrangler dev`, through its inspector (set
 * BENCH_PROFILE=file.cpuprofile on a bench to take one). `start()` begins sampling; `stop()` writes
 * the profile and returns the functions with the most self time, for the log.
 */
export async function workerProfiler(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) throw new Error("no inspector target");
  // The inspector proxy of wrangler dev accepts only local origins.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  return {
    start: () => call("Profiler.start"),
    async stop(file) {
      const { result } = await call("Profiler.stop");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(file, JSON.stringify(result.profile));
      ws.close();
      return topSelfTime(result.profile);
    },
  };
}

/** The functions with the most self time in a V8 CPU profile, as "ms  name  url:line" lines. */
export function topSelfTime(profile, n = 25) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byNode.get(profile.samples[i]);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || "(anonymous)"}  ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [
    `total sampled ${total.toFixed(0)} ms`,
    ...[...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${ms.toFixed(0).padStart(7)} ms  ${k}`),
  ];
}
