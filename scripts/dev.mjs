#!/usr/bin/env node
// `npm run dev`: applies local D1 migrations, starts `wrangler dev` with every flag passed through,
// and seeds the owner account (keys included) by asking the new server for its NodeInfo once it is up.
// In local dev WEB_DOMAIN defaults to the address wrangler listens on (localhost:PORT, or --ip's
// address) and ACCOUNT_DOMAIN to WEB_DOMAIN; --var KEY:VALUE or .dev.vars override either. The
// argument handling is in dev-args.mjs (tested in test/scripts/dev-args.test.ts).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { devPlan } from "./dev-args.mjs";

const args = process.argv.slice(2);
const plan = devPlan(args, existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "");

const migrate = [
  "d1",
  "migrations",
  "apply",
  "DB",
  "--local",
  ...(plan.persist ? ["--persist-to", plan.persist] : []),
];
const applied = spawnSync("wrangler", migrate, { stdio: "inherit", env: { ...process.env, CI: "true" } });
if (applied.status !== 0) process.exit(applied.status ?? 1);

const wrangler = spawn("wrangler", ["dev", ...plan.defaults, ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 0));

/** One GET of the seed URL: its status and body. `--local-protocol https` serves a self-signed cert. */
function ask(url) {
  return new Promise((resolve, reject) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

// Seed the owner: the first request creates the instance row, the account and its keys.
const started = Date.now();
const seed = async () => {
  while (Date.now() - started < 120_000) {
    try {
      const res = await ask(plan.seedUrl);
      if (res.status >= 200 && res.status < 300) {
        console.log(
          `\nPerch is up at ${plan.localUrl} as ${plan.webDomain}, and its owner account is ready.`,
        );
        return;
      }
      console.error(`\nPerch answered ${res.status} on first start: ${res.body}`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  console.error(
    `\nPerch did not answer at ${plan.seedUrl}; the owner is created on the first request instead.`,
  );
};
void seed();
