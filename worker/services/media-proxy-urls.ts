import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { settings } from "../db/schema";
import { uris } from "../federation/uris";
import { fromBase64, toBase64 } from "../lib/http-signatures/encoding";
import { EXTENSIONS } from "./media-fetch";

/**
 * Remote media (avatars, headers, attachments, custom emoji) reaches clients only through Perch, and
 * is fetched only when someone looks at it: API answers carry
 * `https://WEB_DOMAIN/media/proxy/<base64url(url)>[.<ext>]?s=<HMAC-SHA256(url), base64url>`.
 *
 * The HMAC keeps the proxy from being an open one: only URLs Perch itself handed out are fetched. Its
 * key is 32 random bytes generated once and kept in `settings` (`media_proxy_secret`), apart from the
 * actor keys: rotating those (a compromised key) must not break every media link, and a leak of this
 * one signs nothing that federates. It is imported once per isolate. The extension (from the remote
 * path, when it names an allowed type) is for clients that guess a type from it; it must be the one
 * Perch derives, so each remote URL has exactly one proxy URL and one edge-cache entry.
 */

const PROXY_PREFIX = "/media/proxy/";
const SECRET_KEY = "media_proxy_secret";
const encoder = new TextEncoder();

/** Per isolate: the secret never changes once stored. A failed load is forgotten, so the next request retries. */
// The key itself, not a promise of it: Workers ties a promise to the request that made it, and
// another request awaiting it could hang once that one has finished.
let proxyKey: CryptoKey | undefined;

async function key(ctx: Ctx): Promise<CryptoKey> {
  proxyKey ??= await loadKey(ctx);
  return proxyKey;
}

async function loadKey(ctx: Ctx): Promise<CryptoKey> {
  const read = async () =>
    (await ctx.db.select().from(settings).where(eq(settings.key, SECRET_KEY)).limit(1))[0]?.value;
  let secret = await read();
  if (!isSecret(secret)) {
    // Racing first requests both insert; one wins and both read the winner's secret.
    const fresh = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0"));
    await ctx.db
      .insert(settings)
      .values({ key: SECRET_KEY, value: fresh.join("") })
      .onConflictDoNothing();
    secret = await read();
    if (!isSecret(secret)) throw new Error(`settings "${SECRET_KEY}" is not 64 hex digits`);
  }
  const bytes = Uint8Array.from(secret.match(/../g) as string[], (h) => parseInt(h, 16));
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function isSecret(v: unknown): v is string {
  return typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
}

const base64url = (bytes: Uint8Array) =>
  toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function fromBase64url(text: string): Uint8Array | null {
  try {
    const bytes = fromBase64(text.replace(/-/g, "+").replace(/_/g, "/"));
    // Only the canonical spelling: one URL, one proxy path.
    return base64url(bytes) === text ? bytes : null;
  } catch {
    return null;
  }
}

/** The proxy path of a remote URL: `/media/proxy/<base64url>` and the extension of an allowed type. */
export function proxyPath(url: string): string {
  let ext = "";
  try {
    const m = /\.([a-z0-9]{1,5})$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    if (m && EXTENSIONS[m]) ext = `.${m}`;
  } catch {
    // not a URL: no extension, and the proxy refuses it
  }
  return `${PROXY_PREFIX}${base64url(encoder.encode(url))}${ext}`;
}

/** The remote URL a proxy path names, or null unless the path is exactly what `proxyPath` makes of it. */
export function parseProxyPath(pathname: string): string | null {
  const m = /^\/media\/proxy\/([A-Za-z0-9_-]{1,8192})(?:\.[a-z0-9]{1,5})?$/.exec(pathname);
  const bytes = m ? fromBase64url(m[1] as string) : null;
  if (!bytes) return null;
  let url: string;
  try {
    url = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
  return proxyPath(url) === pathname ? url : null;
}

async function sign(ctx: Ctx, url: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", await key(ctx), encoder.encode(url))));
}

/** Whether `s` is Perch's HMAC of `url` (compared by WebCrypto in constant time). */
export async function verifyProxySignature(ctx: Ctx, url: string, s: string | undefined): Promise<boolean> {
  if (!s || !/^[A-Za-z0-9_-]{43}$/.test(s)) return false;
  const mac = fromBase64url(s);
  if (!mac) return false;
  return crypto.subtle.verify("HMAC", await key(ctx), mac, encoder.encode(url));
}

/** The full proxy URL of a remote URL with a given signature: also the edge-cache key. */
export function signedProxyUrl(ctx: Ctx, url: string, s: string): string {
  return `${uris(ctx.config).base}${proxyPath(url)}?s=${s}`;
}

/** Maps media URLs to what clients are given: remote ones to their proxy URL, Perch's own as they are. */
export type MediaUrls = (url: string) => string;

function isOwn(base: string, url: string): boolean {
  return url.startsWith(`${base}/`);
}

/**
 * Signs the proxy URLs of the remote ones among `urls` (one HMAC each, the key loaded once per
 * isolate) and answers the mapping for serializers, which are synchronous. Perch's own files (the
 * owner's uploads, the default images) stay as they are. Asking for a remote URL that was not given
 * here is a bug in the caller, not something to leak to a client: it throws.
 */
export async function proxiedMediaUrls(
  ctx: Ctx,
  urls: Iterable<string | null | undefined>,
): Promise<MediaUrls> {
  const base = uris(ctx.config).base;
  const remote = [...new Set([...urls].filter((u): u is string => !!u && !isOwn(base, u)))];
  const signed = new Map(
    await Promise.all(remote.map(async (u) => [u, signedProxyUrl(ctx, u, await sign(ctx, u))] as const)),
  );
  return (url) => {
    if (isOwn(base, url)) return url;
    const proxied = signed.get(url);
    if (!proxied) throw new Error(`media URL ${url} was not signed for this answer`);
    return proxied;
  };
}
