import { Hono } from "hono";
import type { AppEnv } from "../app";
import type { MediaFailure } from "../services/media-fetch";
import { parseProxyPath, signedProxyUrl, verifyProxySignature } from "../services/media-proxy-urls";
import { openRemoteMedia, type ServedMedia } from "../services/remote-media";

/**
 * `GET /media/proxy/<base64url(url)>[.<ext>]?s=<HMAC>`: remote media, fetched when first viewed
 * (services/remote-media.ts), with Cloudflare's cache in front. Mounted before the owner's `/media/*`
 * files, and it answers every path under /media/proxy/, so R2's `proxy/` objects are reached only here.
 *
 * Answers are plain text on failure: 400 for a path that is not one Perch makes, 403 for a missing or
 * wrong signature and for an address Perch does not fetch, 404 when the remote file is gone, 502 for
 * anything else the remote host got wrong. No remote header is passed on.
 */
export const mediaProxy = new Hono<AppEnv>();

/** A week: remote media URLs hardly ever change content (Mastodon names files by content). */
const MAX_AGE = 7 * 24 * 3600;
/** A missing file is asked for again after an hour, not on every view of the timeline. */
const NOT_FOUND_MAX_AGE = 3600;

const FAILURES: Record<MediaFailure, [number, string]> = {
  refused: [403, "Remote address not allowed"],
  not_found: [404, "Remote media not found"],
  unavailable: [502, "Remote media unavailable"],
  bad_type: [502, "Remote media type not allowed"],
  too_large: [502, "Remote media too large"],
};

function plain(status: number, text: string, cache = "no-store"): Response {
  return new Response(text, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": cache,
    },
  });
}

function mediaHeaders(m: ServedMedia): Headers {
  const h = new Headers({
    "content-type": m.contentType,
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cache-control": `public, max-age=${MAX_AGE}`,
    "accept-ranges": "bytes",
    // Web clients (Elk, Phanpy) draw media from another origin, as they do Mastodon's own.
    "cross-origin-resource-policy": "cross-origin",
    "access-control-allow-origin": "*",
  });
  if (m.length !== undefined) h.set("content-length", String(m.length));
  if (m.contentRange) h.set("content-range", m.contentRange);
  return h;
}

mediaProxy.get("/media/proxy/*", async (c) => {
  const ctx = c.var.ctx;
  const url = parseProxyPath(new URL(c.req.url).pathname);
  if (!url) return plain(400, "Bad media proxy URL");
  const s = c.req.query("s");
  if (!(await verifyProxySignature(ctx, url, s))) return plain(403, "Forbidden");

  // Keyed by the canonical URL (the path is canonical by construction, other query parameters are
  // dropped), so no one can multiply the entries of one file.
  const cacheKey = signedProxyUrl(ctx, url, s as string);
  const range = c.req.header("range");
  const hit = await caches.default.match(new Request(cacheKey, range ? { headers: { range } } : {}));
  if (hit) return hit;

  const result = await openRemoteMedia(ctx, url, { range });
  if (!result.ok) {
    const [status, text] = FAILURES[result.reason];
    return plain(status, text, status === 404 ? `public, max-age=${NOT_FOUND_MAX_AGE}` : "no-store");
  }
  const headers = mediaHeaders(result);
  let body = result.body;
  if (result.whole && body) {
    const [toClient, toEdge] = body.tee();
    body = toClient;
    const copy = new Response(toEdge, { status: 200, headers });
    ctx.waitUntil(caches.default.put(cacheKey, copy).catch(() => undefined));
  }
  return new Response(body, { status: result.status, headers });
});
