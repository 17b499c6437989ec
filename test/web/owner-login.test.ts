import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../worker/app";
import { readInput } from "../../worker/api/input";
import { ownerSessions } from "../../worker/db/schema";
import { sha256Hex } from "../../worker/oauth/secrets";
import { safeNext, waitInWords } from "../../worker/web/owner-pages";
import { requireCsrf, requireOwnerSession } from "../../worker/web/session";
import { BASE, request, testCtx } from "../helpers/app";
import {
  BROWSER,
  FORM,
  hiddenFields,
  openLogin,
  requestWith,
  setCookie,
  signIn,
  submitLogin,
} from "./owner-session";

const PASSWORD = env.OWNER_PASSWORD as string;
const SESSION = "__Host-perch_session";
const LOGIN_CSRF = "__Host-perch_login_csrf";

const sessions = () => testCtx().db.select().from(ownerSessions);

async function throttleRows(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM login_throttle").first<{ n: number }>();
  return row?.n ?? 0;
}

/** Moves a session's timestamps into the past. */
async function age(session: string, column: "expires_at" | "last_seen_at", seconds: number) {
  await env.DB.prepare(
    `UPDATE owner_sessions SET ${column} = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) WHERE token_hash = ?2`,
  )
    .bind(`-${seconds} seconds`, await sha256Hex(session))
    .run();
}

function expectOwnerHeaders(res: Response) {
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-security-policy")).toContain("form-action 'self'");
  expect(res.headers.get("content-security-policy")).not.toContain("form-action 'none'");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
}

function post(
  path: string,
  cookie: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return request(path, {
    method: "POST",
    headers: { ...BROWSER, ...FORM, origin: BASE, cookie, ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

describe("the sign-in page", () => {
  it("carries a CSRF token equal to its __Host- cookie and the next path, and is not cached", async () => {
    const { res, text, cookie, fields } = await openLogin("/admin/relays");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expectOwnerHeaders(res);
    expect(res.headers.getSetCookie()).toEqual([
      `${LOGIN_CSRF}=${cookie}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=3600`,
    ]);
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fields).toEqual({ csrf: cookie, next: "/admin/relays" });
    expect(text).toContain('type="password"');
    expect(text).toContain('<meta name="viewport"');
    expect(text).not.toContain("<script");
  });

  it("with the right password starts a session: a 303 to next and a cookie with exactly these attributes, D1 keeping only the token's SHA-256", async () => {
    const form = await openLogin("/admin/relays?page=2");
    const res = await submitLogin(form, PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/relays?page=2");
    const cookies = res.headers.getSetCookie();
    const session = setCookie(res, SESSION)!;
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies).toContain(
      `${SESSION}=${session}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=2592000`,
    );
    // The sign-in form's token is spent.
    expect(cookies).toContain(`${LOGIN_CSRF}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0`);
    const rows = await sessions();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).toBe(await sha256Hex(session));
    expect(JSON.stringify(rows)).not.toContain(session);
    const days = (Date.parse(rows[0]!.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
  });

  it("with a wrong password shows the form again with a message and 401, and starts no session", async () => {
    const form = await openLogin("/admin/relays");
    const res = await submitLogin(form, "not the password");
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).toContain("That password is not right.");
    expect(hiddenFields(text)).toEqual({ csrf: form.cookie, next: "/admin/relays" });
    expect(setCookie(res, SESSION)).toBeUndefined();
    expect(await sessions()).toHaveLength(0);
  });

  it("after the throttle's five free misses answers 429 with Retry-After and the wait in words, even to the right password", async () => {
    const form = await openLogin();
    for (let i = 0; i < 5; i++) expect((await submitLogin(form, `guess ${i}`)).status).toBe(401);
    for (const password of ["guess 5", PASSWORD]) {
      const res = await submitLogin(form, password);
      expect(res.status).toBe(429);
      const wait = Number(res.headers.get("retry-after"));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(30);
      expect(await res.text()).toContain(`Too many failed attempts. Try again in ${waitInWords(wait)}.`);
      expect(setCookie(res, SESSION)).toBeUndefined();
    }
    expect(await sessions()).toHaveLength(0);
  });

  it("says the wait in seconds, minutes or hours", () => {
    expect(waitInWords(1)).toBe("1 second");
    expect(waitInWords(30)).toBe("30 seconds");
    expect(waitInWords(61)).toBe("2 minutes");
    expect(waitInWords(60)).toBe("1 minute");
    expect(waitInWords(3600)).toBe("1 hour");
  });

  it("says OWNER_PASSWORD is not set when it is not, on the page and to a submitted form", async () => {
    const bindings = { ...env, OWNER_PASSWORD: "" };
    const page = await requestWith(bindings, new Request(`${BASE}/login`, { headers: BROWSER }));
    expect(page.status).toBe(503);
    expect(await page.text()).toContain("OWNER_PASSWORD is not set");
    const form = await openLogin();
    const res = await submitLogin(form, PASSWORD, { bindings });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("OWNER_PASSWORD is not set");
    expect(await sessions()).toHaveLength(0);
  });

  it("refuses a sign-in without the form's cookie, with another token, or from another origin with 403, counting no attempt", async () => {
    const form = await openLogin();
    const refused = [
      await submitLogin({ ...form, cookie: "" }, PASSWORD),
      await submitLogin(form, PASSWORD, { fields: { csrf: "x".repeat(32) } }),
      await submitLogin(form, PASSWORD, { headers: { origin: "https://evil.example" } }),
      await submitLogin(form, PASSWORD, { headers: { origin: "null" } }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).toContain("expired or came from another site");
      // A fresh form to try again with.
      expect(hiddenFields(text).csrf).toBe(setCookie(res, LOGIN_CSRF));
      expect(setCookie(res, SESSION)).toBeUndefined();
    }
    // Without an Origin header, a cross-site Referer is refused too; a same-origin one is accepted.
    const viaReferer = (referer: string) =>
      request(`${BASE}/login`, {
        method: "POST",
        headers: { ...BROWSER, ...FORM, referer, cookie: `${LOGIN_CSRF}=${form.cookie}` },
        body: new URLSearchParams({ ...form.fields, password: PASSWORD }).toString(),
      });
    expect((await viaReferer("https://evil.example/login")).status).toBe(403);
    expect(await throttleRows()).toBe(0);
    expect((await viaReferer(`${BASE}/login`)).status).toBe(303);
  });

  it("sends next that would leave the site to /admin instead", async () => {
    const attempts = [
      "//evil.com",
      "/\\evil.com",
      "https://evil.com",
      "/\t/evil.com",
      "/\r\n/evil.com",
      "\\\\evil.com",
      "javascript:alert(1)",
      "admin",
      "",
    ];
    for (const next of attempts) {
      const res = await submitLogin(await openLogin(), PASSWORD, { fields: { next } });
      expect(res.status, next).toBe(303);
      expect(res.headers.get("location"), next).toBe("/admin");
    }
    expect(safeNext("/admin/relays?x=1#top")).toBe("/admin/relays?x=1#top");
    expect(safeNext("/\\/evil.com")).toBe("/admin");
    expect(safeNext("/a\\b")).toBe("/admin");
  });

  it("goes straight on to next for a browser already signed in", async () => {
    const { cookie } = await signIn();
    const res = await request("/login?next=/admin/relays", { headers: { ...BROWSER, cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/relays");
  });
});

describe("the owner session", () => {
  it("opens /admin and gives its CSRF token at /admin/api/session; without it /admin goes to the sign-in page and the API answers 401 JSON", async () => {
    const none = await request("/admin/relays?page=2", { headers: BROWSER });
    expect(none.status).toBe(303);
    expect(none.headers.get("location")).toBe(`/login?next=${encodeURIComponent("/admin/relays?page=2")}`);
    const api = await request("/admin/api/session", { headers: BROWSER });
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: "Sign in first" });

    const { cookie, csrf } = await signIn();
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf).toBe((await sessions())[0]!.csrfToken);
    const home = await request("/admin", { headers: { ...BROWSER, cookie } });
    expect(home.status).toBe(200);
    expectOwnerHeaders(home);
    const text = await home.text();
    expect(text).toContain('href="/admin/relays"');
    expect(text).toContain('href="/admin"');
    expect(text).toContain('action="/logout"');
    expect(hiddenFields(text)).toEqual({ csrf });
    expect(text).toContain('<meta name="viewport"');
    expect(text).not.toContain("<script");
    const session = await request("/admin/api/session", { headers: { cookie } });
    expect(session.headers.get("cache-control")).toBe("no-store");
    expect(await session.json()).toEqual({ csrfToken: csrf });
  });

  it("ends 30 days after sign-in: the cookie is refused and the row deleted", async () => {
    const { session, cookie } = await signIn();
    await age(session, "expires_at", 1);
    const res = await request("/admin", { headers: { ...BROWSER, cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?next=%2Fadmin");
    expect(res.headers.getSetCookie()).toEqual([
      `${SESSION}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0`,
    ]);
    expect(await sessions()).toHaveLength(0);
  });

  it("ends after 14 idle days, and records its use at most once an hour", async () => {
    const idle = await signIn();
    const used = await signIn();
    await age(idle.session, "last_seen_at", 14 * 86_400 + 60);
    expect((await request("/admin", { headers: { ...BROWSER, cookie: idle.cookie } })).status).toBe(303);
    expect((await sessions()).map((s) => s.tokenHash)).toEqual([await sha256Hex(used.session)]);

    await age(used.session, "last_seen_at", 30 * 60);
    const before = (await sessions())[0]!.lastSeenAt;
    expect((await request("/admin", { headers: { ...BROWSER, cookie: used.cookie } })).status).toBe(200);
    expect((await sessions())[0]!.lastSeenAt).toBe(before);
    await age(used.session, "last_seen_at", 2 * 3600);
    expect((await request("/admin", { headers: { ...BROWSER, cookie: used.cookie } })).status).toBe(200);
    expect(Date.now() - Date.parse((await sessions())[0]!.lastSeenAt)).toBeLessThan(60_000);
  });

  it("is replaced at each sign-in, and sign-in sweeps away dead sessions", async () => {
    const old = await signIn();
    const dead = await signIn();
    await age(dead.session, "expires_at", 1);
    const form = await openLogin();
    const res = await submitLogin(form, PASSWORD, {
      headers: { cookie: `${LOGIN_CSRF}=${form.cookie}; ${old.cookie}` },
    });
    expect(res.status).toBe(303);
    const rows = await sessions();
    expect(rows.map((r) => r.tokenHash)).toEqual([await sha256Hex(setCookie(res, SESSION)!)]);
    expect((await request("/admin", { headers: { ...BROWSER, cookie: old.cookie } })).status).toBe(303);
  });

  it("refuses cookies that are not a session's token, its stored hash included", async () => {
    await signIn();
    const stored = (await sessions())[0]!.tokenHash;
    for (const value of ["", "nonsense", "a".repeat(43), stored]) {
      const res = await request("/admin", { headers: { ...BROWSER, cookie: `${SESSION}=${value}` } });
      expect(res.status).toBe(303);
    }
  });
});

describe("CSRF behind the login", () => {
  it("refuses to sign out without the token, with a wrong one, or from another origin, with 403 and the session kept", async () => {
    const { cookie, csrf } = await signIn();
    const refused = [
      await post("/logout", cookie, {}),
      await post("/logout", cookie, { csrf: csrf.slice(0, -1) + (csrf.endsWith("A") ? "B" : "A") }),
      await post("/logout", cookie, { csrf }, { origin: "https://evil.example" }),
      await post("/logout", cookie, { csrf }, { origin: "null" }),
      await post("/logout", cookie, { csrf }, { "x-csrf-token": "wrong" }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("That form was not sent");
    }
    expect(await sessions()).toHaveLength(1);
    expect((await request("/admin", { headers: { ...BROWSER, cookie } })).status).toBe(200);
  });

  it("checks every POST, PUT, PATCH and DELETE under /admin: JSON answers 403 JSON without the X-CSRF-Token header", async () => {
    const { cookie, csrf } = await signIn();
    const call = (method: string, headers: Record<string, string>) =>
      request("/admin/api/nothing-here", {
        method,
        headers: { cookie, "content-type": "application/json", ...headers },
        body: "{}",
      });
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const refused = await call(method, {});
      expect(refused.status, method).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toMatch(/CSRF/);
      expect((await call(method, { "x-csrf-token": csrf, origin: "https://evil.example" })).status).toBe(403);
      // Past the check there is no such route: the answer is the JSON 404.
      const passed = await call(method, { "x-csrf-token": csrf, origin: BASE });
      expect(passed.status, method).toBe(404);
      expect(await passed.json()).toEqual({ error: "Record not found" });
    }
    // Without a session the JSON paths answer 401 before any CSRF check.
    expect((await call("POST", { cookie: "" })).status).toBe(401);
  });

  it("leaves the form body readable for the route behind it, urlencoded or multipart", async () => {
    const probe = new Hono<AppEnv>();
    probe.use(async (c, next) => {
      c.set("ctx", testCtx());
      await next();
    });
    probe.post("/admin/probe", requireOwnerSession, requireCsrf, async (c) => c.json(await readInput(c)));
    const { cookie, csrf } = await signIn();
    const multipart = new FormData();
    multipart.set("csrf", csrf);
    multipart.set("url", "https://relay.example/inbox");
    for (const body of [new URLSearchParams({ csrf, url: "https://relay.example/inbox" }), multipart]) {
      const execution = createExecutionContext();
      const res = await probe.fetch(
        new Request(`${BASE}/admin/probe`, { method: "POST", headers: { cookie, origin: BASE }, body }),
        env,
        execution,
      );
      await waitOnExecutionContext(execution);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ csrf, url: "https://relay.example/inbox" });
    }
  });

  it("signing out deletes the session: the old cookie no longer opens /admin", async () => {
    const { cookie, csrf } = await signIn();
    const res = await post("/logout", cookie, { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
    expect(res.headers.getSetCookie()).toEqual([
      `${SESSION}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0`,
    ]);
    expect(await sessions()).toHaveLength(0);
    const after = await request("/admin", { headers: { ...BROWSER, cookie } });
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/login?next=%2Fadmin");
    expect((await request("/admin/api/session", { headers: { cookie } })).status).toBe(401);
  });

  it("keeps HTML 404s for pages and JSON errors for /admin/api behind the login", async () => {
    const { cookie } = await signIn();
    const page = await request("/admin/no-such-page", { headers: { ...BROWSER, cookie } });
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const api = await request("/admin/api/no-such-thing", { headers: { ...BROWSER, cookie } });
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await api.json()).toEqual({ error: "Record not found" });
  });
});
