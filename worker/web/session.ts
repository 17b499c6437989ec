import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { html } from "hono/html";
import type { AppEnv } from "../app";
import { uris } from "../federation/uris";
import { HttpError } from "../lib/errors";
import { timingSafeEqual } from "../oauth/secrets";
import { OWNER_HEADERS, ownerPage } from "./owner-layout";
import { findSession, SESSION_TTL_SECONDS, type OwnerSession } from "./session-store";

export { csrfField } from "./owner-layout";
export type { OwnerSession };

/**
 * The owner's sign-in for Perch's own pages: a session cookie, and the two middlewares every route
 * behind it uses. `__Host-` cookies are Secure, host-only and Path=/, so no sibling subdomain can
 * set or overwrite them; SameSite=Strict keeps them off requests other sites start.
 */
export const SESSION_COOKIE = "__Host-perch_session";
const COOKIE_ATTRIBUTES = "HttpOnly; Secure; SameSite=Strict; Path=/";

export const sessionCookie = (token: string) =>
  `${SESSION_COOKIE}=${token}; ${COOKIE_ATTRIBUTES}; Max-Age=${SESSION_TTL_SECONDS}`;
export const shortCookie = (name: string, value: string, maxAge: number) =>
  `${name}=${value}; ${COOKIE_ATTRIBUTES}; Max-Age=${maxAge}`;
export const clearedCookie = (name: string) => `${name}=; ${COOKIE_ATTRIBUTES}; Max-Age=0`;

/** Paths behind the login that answer scripts: their refusals are JSON, not redirects or pages. */
const JSON_PATHS = /^\/admin\/api(?:\/|$)/;
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const isJsonPath = (path: string) => JSON_PATHS.test(path);

/**
 * Where the request came from, by its Origin header, or its Referer when there is none, is this
 * server (the address asked, or WEB_DOMAIN). A request with neither is let through: old browsers
 * and scripts send none, and the token check still stands. `Origin: null` (a sandboxed or
 * privacy-stripped context) is not this server.
 */
export function fromSameOrigin(c: Context<AppEnv>): boolean {
  const claimed = c.req.header("origin") ?? refererOrigin(c.req.header("referer"));
  if (claimed === undefined) return true;
  return claimed === new URL(c.req.url).origin || claimed === uris(c.var.ctx.config).base;
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "null";
  }
}

/**
 * Lets only the signed-in owner through and sets `c.var.ownerSession`. Without a live session a
 * page read (GET) is sent to the sign-in page, which comes back here afterwards; a form post goes
 * to the sign-in page alone (its target may be no page); `/admin/api/*` answers 401 JSON.
 * Everything it lets through is sent `no-store` and, as HTML, with the owner pages' policy.
 * Running it twice on one request checks the session once.
 */
export const requireOwnerSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.ownerSession) {
    const token = getCookie(c, SESSION_COOKIE);
    const session = await findSession(c.var.ctx, token);
    if (!session) {
      const url = new URL(c.req.url);
      if (isJsonPath(url.pathname)) throw new HttpError(401, "Sign in first", "no_session");
      // A dead cookie is dropped, so the browser stops sending it.
      if (token !== undefined) c.header("set-cookie", clearedCookie(SESSION_COOKIE));
      const back = c.req.method === "GET" || c.req.method === "HEAD";
      const next = back ? `?next=${encodeURIComponent(url.pathname + url.search)}` : "";
      return c.redirect(`/login${next}`, 303);
    }
    c.set("ownerSession", session);
  }
  await next();
  // A copy, whose headers can be changed whatever made the response (Hono's setter copies it again).
  c.res = new Response(c.res.body, c.res);
  const headers = c.res.headers;
  const page = (headers.get("content-type") ?? "").startsWith("text/html");
  for (const [name, value] of Object.entries(OWNER_HEADERS)) {
    if (name === "cache-control" || (page && !headers.has(name))) headers.set(name, value);
  }
};

/** The session `requireOwnerSession` found; calling this on a route not behind it is a bug. */
export function ownerSessionOf(c: Context<AppEnv>): OwnerSession {
  const session = c.var.ownerSession;
  if (!session) throw new Error(`${c.req.path} is not behind requireOwnerSession`);
  return session;
}

/**
 * Refuses a state-changing request (POST, PUT, PATCH, DELETE) behind the login unless it carries the
 * session's CSRF token, in the form field `csrf` or the `X-CSRF-Token` header, and does not say it
 * came from another site (Origin, else Referer). Runs after `requireOwnerSession`. Failure is 403.
 */
export const requireCsrf: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!UNSAFE_METHODS.has(c.req.method)) return next();
  const session = ownerSessionOf(c);
  const token = c.req.header("x-csrf-token") ?? (await formField(c, "csrf"));
  if (token && timingSafeEqual(token, session.csrfToken) && fromSameOrigin(c)) return next();
  if (isJsonPath(new URL(c.req.url).pathname))
    throw new HttpError(
      403,
      "The CSRF token is missing or wrong, or the request came from another site",
      "csrf",
    );
  return c.html(
    ownerPage({
      title: "Not sent",
      csrfToken: session.csrfToken,
      body: html`<h1>That form was not sent</h1>
        <p class="error" role="alert">
          It had expired or came from another site, so nothing was changed. Go back, reload the page and try
          again.
        </p>`,
    }),
    403,
  );
};

/**
 * A field of a form body, read so that the route can still read the body: a urlencoded body through
 * Hono's body cache (which `readInput` and `parseBody` read from), a multipart one from a copy,
 * because `readInput` reads multipart from the raw request.
 */
export async function formField(c: Context, name: string): Promise<string | undefined> {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  try {
    if (type.startsWith("application/x-www-form-urlencoded")) {
      const text = new TextDecoder().decode(await c.req.arrayBuffer());
      return new URLSearchParams(text).get(name) ?? undefined;
    }
    if (type.startsWith("multipart/form-data")) {
      const value = (await c.req.raw.clone().formData()).get(name);
      return typeof value === "string" ? value : undefined;
    }
  } catch {
    // A body that does not parse carries no token.
  }
  return undefined;
}
