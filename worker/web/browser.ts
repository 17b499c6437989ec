import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app";
import { wantsActivityJson } from "../federation/jsonld";
import { notFoundPage } from "./pages";

/**
 * What every HTML page Perch serves carries against clickjacking: it may not be framed anywhere
 * (X-Frame-Options for old browsers, CSP frame-ancestors for the rest). The pages use inline styles
 * and no scripts; images may come from here or any https host (avatars, emoji).
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Paths that answer machines (API, OAuth endpoints, discovery, inboxes): their errors stay JSON. */
const MACHINE_PATHS = /^\/(?:api|admin\/api|oauth|\.well-known|nodeinfo|_perch)(?:\/|$)|(?:^|\/)inbox\/?$/;

/** The quality an Accept header gives `text/html` when it names it, and the best it gives anything. */
function acceptQualities(accept: string): { html: number; best: number } {
  let html = 0;
  let best = 0;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!range) continue;
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (range === "text/html") html = Math.max(html, q);
    best = Math.max(best, q);
  }
  return { html, best };
}

/**
 * A browser asking for a page: its Accept names text/html at least as highly as anything else, it
 * does not ask for ActivityStreams, and the path is not one of the machine endpoints.
 */
export function isBrowserRequest(path: string, accept: string | undefined | null): boolean {
  if (!accept || wantsActivityJson(accept) || MACHINE_PATHS.test(path)) return false;
  const { html, best } = acceptQualities(accept);
  return html > 0 && html >= best;
}

/**
 * Runs around every request: a browser that reaches a 404 (an unknown page, post or account) gets
 * an HTML page instead of the API's JSON error, and every HTML response gets the anti-framing headers
 * unless its route set its own policy (the OAuth pages do).
 */
export const browserPages: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const type = c.res.headers.get("content-type") ?? "";
  if (c.res.status === 404 && !type.startsWith("text/html")) {
    if (isBrowserRequest(new URL(c.req.url).pathname, c.req.header("accept"))) {
      c.res = new Response(await notFoundPage(c.var.ctx), {
        status: 404,
        headers: { "content-type": "text/html; charset=utf-8", vary: "Accept" },
      });
    }
  }
  if (!(c.res.headers.get("content-type") ?? "").startsWith("text/html")) return;
  const headers = new Headers(c.res.headers);
  if (!headers.has("x-frame-options")) headers.set("x-frame-options", "DENY");
  if (!headers.has("content-security-policy")) headers.set("content-security-policy", PAGE_CSP);
  headers.set("x-content-type-options", "nosniff");
  c.res = new Response(c.res.body, { status: c.res.status, statusText: c.res.statusText, headers });
};
