import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../worker/app";
import { upkeep } from "../../worker/queues/upkeep";
import { BASE, request } from "../helpers/app";
import { hiddenFields } from "../helpers/oauth";

const PASSWORD = env.OWNER_PASSWORD as string;
const REDIRECT = "com.example.app://oauth-callback";
const STRANGER = "203.0.113.9";
const OWNER = "198.51.100.7";

afterEach(() => vi.restoreAllMocks());

const worker = createApp();

/** Opens the authorization page once; the returned function submits its form with a password. */
async function authorizationPage() {
  const app = (await (
    await request("/api/v1/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Test App", redirect_uris: REDIRECT, scopes: "read" }),
    })
  ).json()) as { client_id: string };
  const page = await request(
    `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT })}`,
  );
  const cookie = /perch_csrf=([^;]+)/.exec(page.headers.get("set-cookie") ?? "")![1]!;
  const fields = hiddenFields(await page.text());
  return async (password: string, address?: string, bindings: Cloudflare.Env = env) => {
    const req = new Request(`${BASE}/oauth/authorize`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `perch_csrf=${cookie}`,
        ...(address ? { "cf-connecting-ip": address } : {}),
      },
      body: new URLSearchParams({ ...fields, password, decision: "approve" }).toString(),
      redirect: "manual",
    });
    const execution = createExecutionContext();
    const res = await worker.fetch(req, bindings, execution);
    await waitOnExecutionContext(execution);
    return res;
  };
}

function ownerApi(password: string, address?: string) {
  return request("/_perch/owner/dead_letters", {
    headers: {
      authorization: `Basic ${btoa(`owner:${password}`)}`,
      ...(address ? { "cf-connecting-ip": address } : {}),
    },
  });
}

/** Moves every throttle row `seconds` into the past, as if that much time had passed. */
async function passTime(seconds: number) {
  const back = `-${seconds} seconds`;
  await env.DB.prepare(
    `UPDATE login_throttle SET locked_until = strftime('%Y-%m-%dT%H:%M:%fZ', locked_until, ?1),
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, ?1)`,
  )
    .bind(back)
    .run();
}

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();
const retryAfter = (res: Response) => Number(res.headers.get("retry-after"));

describe("the owner password throttle", () => {
  it("of 40 wrong passwords sent at once only the five free ones are evaluated, and then the right one is refused too", async () => {
    const submit = await authorizationPage();
    expect((await submit(PASSWORD)).status).toBe(302);
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(`guess ${i}`)));
    expect(statuses(answers)).toEqual([...Array(5).fill(401), ...Array(35).fill(429)]);
    expect(derive).toHaveBeenCalledTimes(5);
    const right = await submit(PASSWORD);
    expect(right.status).toBe(429);
    expect(retryAfter(right)).toBeGreaterThan(0);
    expect(retryAfter(right)).toBeLessThanOrEqual(30);
    expect(await right.text()).toMatch(/Too many failed attempts; try again in \d+ seconds/);
    expect(derive).toHaveBeenCalledTimes(5);
  });

  it("locks one address for 30 seconds after five misses, doubling with each further miss up to an hour", async () => {
    const submit = await authorizationPage();
    for (let i = 0; i < 5; i++) expect((await submit(`guess ${i}`, STRANGER)).status).toBe(401);
    const first = await submit("guess", STRANGER);
    expect(first.status).toBe(429);
    expect(retryAfter(first)).toBeGreaterThan(20);
    expect(retryAfter(first)).toBeLessThanOrEqual(30);
    await passTime(30);
    expect((await submit("guess 6", STRANGER)).status).toBe(401);
    const second = await submit("guess", STRANGER);
    expect(retryAfter(second)).toBeGreaterThan(50);
    expect(retryAfter(second)).toBeLessThanOrEqual(60);
    await env.DB.prepare("UPDATE login_throttle SET failures = 40 WHERE key LIKE 'client:%'").run();
    await passTime(60);
    expect((await submit("guess 41", STRANGER)).status).toBe(401);
    const longest = await submit("guess", STRANGER);
    expect(retryAfter(longest)).toBeGreaterThan(3500);
    expect(retryAfter(longest)).toBeLessThanOrEqual(3600);
  });

  it("counts failures on the owner API and the authorization page together", async () => {
    const submit = await authorizationPage();
    for (let i = 0; i < 3; i++) expect((await submit(`guess ${i}`)).status).toBe(401);
    for (let i = 3; i < 5; i++) expect((await ownerApi(`guess ${i}`)).status).toBe(401);
    expect((await submit(PASSWORD)).status).toBe(429);
    expect((await ownerApi(PASSWORD)).status).toBe(429);
  });

  it("does not lock the owner out when a stranger guesses from another address", async () => {
    const submit = await authorizationPage();
    const guesses = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(`guess ${i}`, STRANGER)));
    expect(statuses(guesses).filter((s) => s === 401)).toHaveLength(5);
    expect((await submit(PASSWORD, STRANGER)).status).toBe(429);
    expect((await submit(PASSWORD, OWNER)).status).toBe(302);
    expect((await ownerApi(PASSWORD, OWNER)).status).toBe(200);
    // Only hashes of the addresses are kept.
    const { results } = await env.DB.prepare("SELECT key FROM login_throttle ORDER BY key").all();
    expect(results.map((r) => r.key)).toEqual([
      expect.stringMatching(/^client:[0-9a-f]{64}$/),
      expect.stringMatching(/^client:[0-9a-f]{64}$/),
      "global",
    ]);
    expect(JSON.stringify(results)).not.toMatch(/203\.0\.113|198\.51\.100/);
  });

  it("locks everyone for at most three minutes when many addresses guess together, then lets the owner in", async () => {
    const submit = await authorizationPage();
    // Four addresses, five misses each: the global bucket of 20 is full.
    for (let a = 1; a <= 4; a++)
      for (let i = 0; i < 5; i++) expect((await submit(`guess ${a}.${i}`, `192.0.2.${a}`)).status).toBe(401);
    const owner = await submit(PASSWORD, OWNER);
    expect(owner.status).toBe(429);
    expect(retryAfter(owner)).toBeLessThanOrEqual(180);
    expect((await ownerApi(PASSWORD, OWNER)).status).toBe(429);
    // Even after a long siege the global lock stays one drain long.
    await env.DB.prepare("UPDATE login_throttle SET failures = 1000 WHERE key = 'global'").run();
    await passTime(181);
    expect((await submit("guess", "192.0.2.99")).status).toBe(401);
    const siege = await submit(PASSWORD, OWNER);
    expect(siege.status).toBe(429);
    expect(retryAfter(siege)).toBeGreaterThan(150);
    expect(retryAfter(siege)).toBeLessThanOrEqual(180);
    // Three minutes later one attempt has drained: the owner, who was never charged, signs in.
    await passTime(181);
    expect((await submit(PASSWORD, OWNER)).status).toBe(302);
  });

  it("charges nothing for an attempt refused while the server is locked", async () => {
    const submit = await authorizationPage();
    for (let a = 1; a <= 4; a++)
      for (let i = 0; i < 5; i++) expect((await submit(`guess ${a}.${i}`, `192.0.2.${a}`)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await submit(`typo ${i}`, OWNER)).status).toBe(429);
    // An hour later the bucket has drained and the guessers' locks have run out.
    await passTime(3600);
    for (let i = 0; i < 5; i++) expect((await submit(`typo ${i}`, OWNER)).status).toBe(401);
    expect((await submit(PASSWORD, OWNER)).status).toBe(429);
  });

  it("treats the addresses of one IPv6 /64 as one client", async () => {
    const submit = await authorizationPage();
    for (let i = 0; i < 5; i++)
      expect((await submit(`guess ${i}`, `2001:db8:1:2::${i + 1}`)).status).toBe(401);
    expect((await submit(PASSWORD, "2001:DB8:1:2:ffff:ffff:ffff:ffff")).status).toBe(429);
    expect((await submit(PASSWORD, "2001:db8:1:3::1")).status).toBe(302);
  });

  it("is forgotten by the cron upkeep once an address has been quiet for a day", async () => {
    const submit = await authorizationPage();
    for (let i = 0; i < 5; i++) await submit(`guess ${i}`, STRANGER);
    await upkeep(env);
    expect((await submit(PASSWORD, STRANGER)).status).toBe(429);
    await passTime(86_400);
    await upkeep(env);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM login_throttle").first())?.n).toBe(0);
    expect((await submit(PASSWORD, STRANGER)).status).toBe(302);
  });

  it("remembers a right password for a few minutes without PBKDF2, but still refuses it while locked", async () => {
    const submit = await authorizationPage();
    expect((await ownerApi(PASSWORD, OWNER)).status).toBe(200);
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    expect((await ownerApi(PASSWORD, OWNER)).status).toBe(200);
    expect(derive).not.toHaveBeenCalled();
    for (let i = 0; i < 5; i++) expect((await submit(`guess ${i}`, OWNER)).status).toBe(401);
    const locked = await ownerApi(PASSWORD, OWNER);
    expect(locked.status).toBe(429);
    expect(retryAfter(locked)).toBeGreaterThan(20);
    expect(derive).toHaveBeenCalledTimes(5);
  });

  it("costs one check for a burst of calls with the right password, each waiting in its own request", async () => {
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    const answers = await Promise.all(Array.from({ length: 6 }, () => ownerApi(PASSWORD, OWNER)));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    // One PBKDF2 to make the stored hash from OWNER_PASSWORD on first use, one to check the password.
    expect(derive).toHaveBeenCalledTimes(2);
  });

  it("stops the old password at once when OWNER_PASSWORD changes, even one remembered as right", async () => {
    const submit = await authorizationPage();
    expect((await submit(PASSWORD)).status).toBe(302);
    expect((await submit(PASSWORD)).status).toBe(302);
    // `wrangler secret put OWNER_PASSWORD`: the Worker runs with the new secret, D1 still holds the old hash.
    const changed = { ...env, OWNER_PASSWORD: "a new secret" };
    expect((await submit(PASSWORD, undefined, changed)).status).toBe(401);
    expect((await submit("a new secret", undefined, changed)).status).toBe(302);
    expect((await submit(PASSWORD, undefined, changed)).status).toBe(401);
  });
});
