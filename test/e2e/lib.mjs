// Shared by the end-to-end scripts: start Perch instances with `wrangler dev` on loopback (each with
// its own D1, R2 and Queues state), wait for things, report steps, and log in as a person would.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";

export const PASSWORD = "e2e-owner-password";
export const TIMEOUT_MS = 30_000;

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

/** Applies the migrations to a fresh local state directory and starts `wrangler dev` on it. */
export function startInstance(stateDir, name, username, port, inspectorPort) {
  const persist = `${stateDir}/${name}`;
  mkdirSync(persist, { recursive: true });
  const migrate = spawnSync(
    "wrangler",
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist],
    {
      encoding: "utf8",
      env: { ...process.env, CI: "true" },
    },
  );
  if (migrate.status !== 0)
    throw new Error(`migrations for ${name} failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const host = `127.0.0.1:${port}`;
  const child = spawn(
    "wrangler",
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persist,
      "--var",
      `WEB_DOMAIN:${host}`,
      "--var",
      `ACCOUNT_DOMAIN:${host}`,
      "--var",
      `USERNAME:${username}`,
      "--var",
      "ALLOW_LOOPBACK_FEDERATION:true",
      "--var",
      `OWNER_PASSWORD:${PASSWORD}`,
    ],
    {
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CI: "true",
        // Its own dev registry: instances sharing one reload whenever another starts or stops.
        WRANGLER_REGISTRY_PATH: mkdtempSync(join(tmpdir(), "perch-registry-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  return {
    name,
    username,
    port,
    base: `http://${host}`,
    handle: `${username}@${host}`,
    actor: `http://${host}/users/${username}`,
    child,
    log: () => log,
  };
}

export async function eventually(what, probe, timeoutMs = TIMEOUT_MS) {
  const started = Date.now();
  let last;
  while (Date.now() - started < timeoutMs) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out waiting for: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
  );
}

export async function waitUp(instance) {
  await eventually(
    `${instance.name} to start`,
    async () => (await fetch(`${instance.base}/nodeinfo/2.1`)).ok,
  );
}

/** Runs named steps, printing ✓/✗ with timings; the first failure stops the run. */
export function stepper() {
  const counts = { passed: 0, failed: 0 };
  async function step(name, fn) {
    const t = Date.now();
    try {
      const r = await fn();
      counts.passed++;
      console.log(`  ✓ ${name} (${Date.now() - t} ms)`);
      return r;
    } catch (e) {
      counts.failed++;
      console.log(`  ✗ ${name}\n    ${e instanceof Error ? (e.stack ?? e.message) : e}`);
      throw e;
    }
  }
  return { step, counts };
}

/**
 * Signs in on the authorization page the way a person does in a browser: open the page (which sets
 * the CSRF cookie), submit the form with the owner password and "approve", and read the code from
 * the redirect.
 */
export async function approveInBrowser(base, { clientId, redirectUri, scope }) {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
  });
  const page = await fetch(`${base}/oauth/authorize?${query}`);
  if (page.status !== 200) throw new Error(`authorization page answered ${page.status}`);
  const cookie = /perch_csrf=([^;]+)/.exec(page.headers.get("set-cookie") ?? "")?.[1];
  if (!cookie) throw new Error("the authorization page set no CSRF cookie");
  const html = await page.text();
  const fields = Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)].map((m) => [
      m[1],
      m[2]
        .replace(/&amp;/g, "&")
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">"),
    ]),
  );
  const res = await fetch(`${base}/oauth/authorize`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `perch_csrf=${cookie}` },
    body: new URLSearchParams({ ...fields, password: PASSWORD, decision: "approve" }),
  });
  // A redirect carries the code; for the out-of-band URI the code is shown on a page to copy.
  const location = res.headers.get("location");
  const code = location
    ? new URL(location).searchParams.get("code")
    : res.status === 200
      ? /<code id="code"[^>]*>([^<]+)<\/code>/.exec(await res.clone().text())?.[1]
      : null;
  if (!code) throw new Error(`approval answered ${res.status} without a code: ${await res.text()}`);
  return code;
}

const ownerAuth = { authorization: `Basic ${Buffer.from(`owner:${PASSWORD}`).toString("base64")}` };

/** The interim owner API (Basic auth), for what the Mastodon API does not show, like dead letters. */
export async function ownerCall(instance, method, path, body) {
  const res = await fetch(`${instance.base}${path}`, {
    method,
    headers: { ...ownerAuth, "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${instance.name}${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export function dumpLogs(instances) {
  for (const i of instances)
    console.log(`\n--- ${i.name} log (tail) ---\n${i.log().split("\n").slice(-40).join("\n")}`);
}

/** A client app's access token, as an app gets one: registered, approved on the page, exchanged. */
export async function clientToken(base, { name = "bench", scope = "read write" } = {}) {
  const redirectUri = "urn:ietf:wg:oauth:2.0:oob";
  const app = await (
    await fetch(`${base}/api/v1/apps`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: name, redirect_uris: redirectUri, scopes: scope }),
    })
  ).json();
  const code = await approveInBrowser(base, { clientId: app.client_id, redirectUri, scope });
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      grant_type: "authorization_code",
      code,
      client_id: app.client_id,
      client_secret: app.client_secret,
      redirect_uri: redirectUri,
    }),
  });
  const { access_token: token } = await res.json();
  if (!token) throw new Error(`no token: ${res.status}`);
  return token;
}
