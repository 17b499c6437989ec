import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import { html } from "hono/html";
import type { AppEnv } from "../app";
import { uris } from "../federation/uris";
import { checkOwnerPassword } from "../oauth/owner-password";
import { one, readParams } from "../oauth/params";
import { randomToken, timingSafeEqual } from "../oauth/secrets";
import { OWNER_HEADERS, ownerDocument, ownerPage } from "./owner-layout";
import {
  clearedCookie,
  fromSameOrigin,
  ownerSessionOf,
  requireCsrf,
  requireOwnerSession,
  SESSION_COOKIE,
  sessionCookie,
  shortCookie,
} from "./session";
import {
  createSession,
  deleteDeadSessions,
  deleteSession,
  deleteSessionOfToken,
  findSession,
} from "./session-store";

/**
 * The owner's sign-in to Perch's own pages (`/login`, `/logout`) and the admin home. Every path
 * under /admin is behind the login here, for the routes mounted after this router too; their own
 * `requireOwnerSession` then costs nothing more.
 */
export const ownerWeb = new Hono<AppEnv>();

/**
 * The sign-in form's own CSRF token, from before there is a session (login CSRF: another site must
 * not sign this browser in to anything). Double-submit: the form field must equal this cookie.
 */
const LOGIN_CSRF_COOKIE = "__Host-perch_login_csrf";
const LOGIN_CSRF_SECONDS = 3600;
const HOME = "/admin";

/**
 * Where to go after signing in: `next` if it is a path on this server, else the admin home. A path
 * starting `//` or `/\` would be another host to a browser, which also drops tabs and newlines and
 * reads `\` as `/`, so those are refused anywhere in it.
 */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith("/") || /^\/[/\\]/.test(next) || /[\u0000-\u001f\u007f\\]/.test(next))
    return HOME;
  const base = "https://perch.invalid";
  const url = new URL(next, base);
  return url.origin === base ? url.pathname + url.search + url.hash : HOME;
}

/** A wait in words for the page: "40 seconds", "3 minutes", "1 hour". */
export function waitInWords(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (seconds < 60) return unit(Math.max(1, Math.ceil(seconds)), "second");
  const minutes = Math.ceil(seconds / 60);
  return minutes < 60 ? unit(minutes, "minute") : unit(Math.ceil(minutes / 60), "hour");
}

type LoginStatus = 200 | 401 | 403 | 429;

/** The sign-in page, with `csrf` in its form and in the cookie it is checked against. */
function loginPage(
  c: Context<AppEnv>,
  csrf: string,
  next: string,
  message?: string,
  status: LoginStatus = 200,
) {
  for (const [name, value] of Object.entries(OWNER_HEADERS)) c.header(name, value);
  c.header("set-cookie", shortCookie(LOGIN_CSRF_COOKIE, csrf, LOGIN_CSRF_SECONDS), { append: true });
  const handle = uris(c.var.ctx.config).handle;
  return c.html(
    ownerDocument(
      "Sign in",
      html`<main class="card alone">
        <h1>Sign in</h1>
        <p class="muted">The owner of @${handle} signs in here with the owner password.</p>
        ${message ? html`<p class="error" role="alert">${message}</p>` : ""}
        <form method="post" action="/login">
          <input type="hidden" name="csrf" value="${csrf}" />
          <input type="hidden" name="next" value="${next}" />
          <label for="password">Password</label>
          <input
            id="password"
            type="password"
            name="password"
            autocomplete="current-password"
            required
            autofocus
          />
          <p><button class="primary" type="submit">Sign in</button></p>
        </form>
      </main>`,
    ),
    status,
  );
}

/** Without OWNER_PASSWORD nobody can sign in: the page says so instead of offering a form. */
function notConfiguredPage(c: Context<AppEnv>) {
  for (const [name, value] of Object.entries(OWNER_HEADERS)) c.header(name, value);
  return c.html(
    ownerDocument(
      "Sign-in is off",
      html`<main class="card alone">
        <h1>Sign-in is off</h1>
        <p class="error" role="alert">OWNER_PASSWORD is not set, so nobody can sign in.</p>
        <p>
          Set it with <code>npx wrangler secret put OWNER_PASSWORD</code> (in local development, in
          <code>.dev.vars</code>), then reload this page.
        </p>
      </main>`,
    ),
    503,
  );
}

/** The login CSRF token this browser already holds, kept so that two open sign-in tabs both work. */
function heldLoginCsrf(c: Context<AppEnv>): string | undefined {
  const held = getCookie(c, LOGIN_CSRF_COOKIE);
  return held && /^[A-Za-z0-9_-]{32}$/.test(held) ? held : undefined;
}

ownerWeb.get("/login", async (c) => {
  const next = safeNext(c.req.query("next"));
  if (!c.env.OWNER_PASSWORD) return notConfiguredPage(c);
  // Already signed in: straight on.
  if (await findSession(c.var.ctx, getCookie(c, SESSION_COOKIE))) return c.redirect(next, 303);
  return loginPage(c, heldLoginCsrf(c) ?? randomToken(24), next);
});

ownerWeb.post("/login", async (c) => {
  if (!c.env.OWNER_PASSWORD) return notConfiguredPage(c);
  const p = await readParams(c);
  const next = safeNext(one(p.next));
  const held = heldLoginCsrf(c);
  const sent = one(p.csrf) ?? "";
  if (!held || !timingSafeEqual(held, sent) || !fromSameOrigin(c)) {
    const message = "This sign-in form had expired or came from another site. Sign in again.";
    return loginPage(c, randomToken(24), next, message, 403);
  }
  const ctx = c.var.ctx;
  const login = await checkOwnerPassword(ctx, one(p.password) ?? "", c.req.header("cf-connecting-ip"));
  switch (login.kind) {
    case "not_configured":
      return notConfiguredPage(c);
    case "locked": {
      c.header("retry-after", String(login.retryAfterSeconds));
      const wait = waitInWords(login.retryAfterSeconds);
      return loginPage(c, held, next, `Too many failed attempts. Try again in ${wait}.`, 429);
    }
    case "wrong":
      return loginPage(c, held, next, "That password is not right.", 401);
    case "ok":
      break;
  }
  // A fresh session for every sign-in (a token planted before it is worth nothing after).
  await Promise.all([deleteSessionOfToken(ctx, getCookie(c, SESSION_COOKIE)), deleteDeadSessions(ctx)]);
  const { token } = await createSession(ctx, c.req.header("user-agent"));
  c.header("cache-control", "no-store");
  c.header("set-cookie", sessionCookie(token), { append: true });
  c.header("set-cookie", clearedCookie(LOGIN_CSRF_COOKIE), { append: true });
  return c.redirect(next, 303);
});

ownerWeb.post("/logout", requireOwnerSession, requireCsrf, async (c) => {
  await deleteSession(c.var.ctx, ownerSessionOf(c).tokenHash);
  c.header("set-cookie", clearedCookie(SESSION_COOKIE));
  return c.redirect("/login", 303);
});

// Everything under /admin, including what other routers mount there later: signed in, and
// CSRF-checked when it changes something.
ownerWeb.use("/admin/*", requireOwnerSession, requireCsrf);

/** The CSRF token for scripts and JSON clients, sent as `X-CSRF-Token` on what they change. */
ownerWeb.get("/admin/api/session", (c) => c.json({ csrfToken: ownerSessionOf(c).csrfToken }));

ownerWeb.get(HOME, (c) => {
  const u = uris(c.var.ctx.config);
  return c.html(
    ownerPage({
      title: "Admin",
      csrfToken: ownerSessionOf(c).csrfToken,
      nav: HOME,
      body: html`<h1>Admin</h1>
        <p>Signed in as the owner of <a href="${u.profileUrl}">@${u.handle}</a>.</p>
        <section class="card">
          <h2><a href="/admin/dashboard">Dashboard</a></h2>
          <p class="muted">
            Queues, dead letters, relays, failing servers, storage, and the day against the Free plan.
          </p>
        </section>
        <section class="card">
          <h2><a href="/admin/relays">Relays</a></h2>
          <p class="muted">The relays this server subscribes to, and what each one brings in.</p>
        </section>
        <section class="card">
          <h2><a href="/admin/moving">Moving</a></h2>
          <p class="muted">Aliases for moving an old account here, and moving this one elsewhere.</p>
        </section>`,
    }),
  );
});
