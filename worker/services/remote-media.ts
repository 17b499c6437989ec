import type { Ctx } from "../context";
import { parseRange } from "../lib/media/serve";
import { checkRemoteUrl } from "../lib/url-safety";
import {
  cacheBudget,
  cachedHead,
  cachedObject,
  storeInCache,
  touchCached,
  type CacheItem,
} from "./media-cache";
import { fetchMedia, SERVED, type MediaFailure } from "./media-fetch";

/**
 * Remote media (avatars, headers, attachments, custom emoji) reaches clients only through Perch's
 * media proxy (web/media-proxy.ts, URLs from services/media-proxy-urls.ts), and is fetched only when
 * someone looks at it: from the R2 cache (services/media-cache.ts) when it is there, else from its
 * host (services/media-fetch.ts), streamed to the client and to R2 at once.
 */

const encoder = new TextEncoder();

export interface ServedMedia {
  status: 200 | 206 | 416;
  /** Always one of SERVED: what the bytes are, never what the remote host said. */
  contentType: string;
  body: ReadableStream<Uint8Array> | null;
  length?: number;
  contentRange?: string;
  /** The whole file is in `body` (not a range): the edge cache may keep a copy. */
  whole: boolean;
}

export type MediaResult = ({ ok: true } & ServedMedia) | { ok: false; reason: MediaFailure };

/**
 * Serves a remote file whose proxy URL was verified: from the R2 cache, or fetched (no cookies, no
 * signature, every redirect hop checked) and validated by its first bytes, streamed to the client and,
 * when its length is known and fits the budget, to R2 at the same time. `range` is honoured from the
 * R2 copy; a first fetch answers the whole file, as RFC 9110 allows.
 */
export async function openRemoteMedia(
  ctx: Ctx,
  url: string,
  opts: { range?: string | null } = {},
): Promise<MediaResult> {
  if (!checkRemoteUrl(url, { allowLoopback: ctx.config.allowLoopback }).ok) return fail("refused");
  const urlHash = await sha256Hex(url);
  const cached = await fromCache(ctx, urlHash, opts.range ?? null);
  if (cached) {
    ctx.waitUntil(touchCached(ctx, urlHash).catch((e: unknown) => console.error("media cache touch", e)));
    return { ok: true, ...cached };
  }
  const budget = cacheBudget(ctx).catch((e: unknown) => {
    console.error("media cache budget", e);
    return 0;
  });
  const fetched = await fetchMedia(ctx, url);
  if (!fetched.ok) {
    await budget;
    return fetched;
  }
  const { contentType, body, length } = fetched;
  const served = { ok: true, status: 200, contentType, length, whole: true } as const;
  const allowed = await budget;
  // Only a known length can be streamed into R2, and only what fits the budget is kept.
  if (allowed === 0 || length === undefined || length > allowed) return { ...served, body };
  const [toClient, toCache] = body.tee();
  const item: CacheItem = { urlHash, url, contentType, bytes: length };
  ctx.waitUntil(
    storeInCache(ctx, item, toCache, allowed).catch((e: unknown) => console.error("media cache store", e)),
  );
  return { ...served, body: toClient };
}

const fail = (reason: MediaFailure) => ({ ok: false, reason }) as const;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function fromCache(ctx: Ctx, urlHash: string, range: string | null): Promise<ServedMedia | null> {
  let part: { offset: number; length: number } | null = null;
  if (range) {
    const head = await cachedHead(ctx, urlHash);
    const type = head?.httpMetadata?.contentType;
    if (!head || !type || !SERVED[type]) return null;
    const wanted = parseRange(range, head.size);
    if (wanted === "invalid") {
      return {
        status: 416,
        contentType: type,
        body: null,
        contentRange: `bytes */${head.size}`,
        whole: false,
      };
    }
    part = wanted;
  }
  const object = await cachedObject(ctx, urlHash, part ?? undefined);
  const type = object?.httpMetadata?.contentType;
  if (!object || !type || !SERVED[type]) {
    await object?.body.cancel();
    return null;
  }
  if (!part) return { status: 200, contentType: type, body: object.body, length: object.size, whole: true };
  const end = part.offset + part.length - 1;
  return {
    status: 206,
    contentType: type,
    body: object.body,
    length: part.length,
    contentRange: `bytes ${part.offset}-${end}/${object.size}`,
    whole: false,
  };
}
