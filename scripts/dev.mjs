#!/usr/bin/env node
// `npm run dev`: applies local D1 migrations, starts `wrangler dev` with every flag passed through,
// and seeds the owner account (keys included) by asking the new server for its NodeInfo once it is up.
// In local dev WEB_DOMAIN and ACCOUNT_DOMAIN default to localhost:PORT.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].split("=").slice(1).join("=") : args[i + 1];
};
const port = flag("--port") ?? "8787";
const persist = flag("--persist-to");

// Variables given with --var K:V or in .dev.vars win over the localhost defaults.
const given = new Set();
args.forEach((a, i) => {
  if (a === "--var" && args[i + 1]) given.add(args[i + 1].split(":")[0]);
});
if (existsSync(".dev.vars")) {
  for (const line of readFileSync(".dev.vars", "utf8").split("\n")) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*=/.exec(line);
    if (m) given.add(m[1]);
  }
}
const defaults = [];
for (const name of ["WEB_DOMAIN", "ACCOUNT_DOMAIN"]) {
  if (!given.has(name)) defaults.push("--var", `${name}:localhost:${port}`);
}

const migrate = ["d1", "migrations", "apply", "DB", "--local", ...(persist ? ["--persist-to", persist] : [])];
const applied = spawnSync("wrangler", migrate, { stdio: "inherit", env: { ...process.env, CI: "true" } });
if (applied.status !== 0) process.exit(applied.status ?? 1);

const wrangler = spawn("wrangler", ["dev", ...defaults, ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 0));

// Seed the owner: the first request creates the instance row, the account and its keys.
const started = Date.now();
const seed = async () => {
  while (Date.now() - started < 120_000) {
    try {
      const res = await fetch(`http://localhost:${port}/nodeinfo/2.1`);
      if (res.ok) {
        console.log(`\nPerch is up at http://localhost:${port}/ and its owner account is ready.`);
        return;
      }
      console.error(`\nPerch answered ${res.status} on first start: ${await res.text()}`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
};
void seed();
