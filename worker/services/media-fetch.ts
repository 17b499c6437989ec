import type { Ctx } from "../context";
import { sniff } from "../lib/media/sniff";
import { RemoteFetchError, type FetchFailure } from "../lib/remote-fetch";
import { checkRemoteUrl } from "../lib/url-safety";
import { userAgent } from "./signing";

/**
 * Fetching one remote media file for the proxy (services/remote-media.ts): which types it serves,
 * the size caps, and a streaming GET whose first bytes decide what the file is.
 */

/** Why a remote file is not served. */
export type MediaFailure = "refused" | "not_found" | "unavailable" | "bad_type" | "too_large";

/**
 * What the proxy serves, by the type sniffed from the bytes, and whether it is an image or sound and
 * video (the two size classes). These are the formats browsers and Mastodon clients play, all
 * containers that cannot carry script; QuickTime and FLAC too, since Mastodon and Perch's own uploads
 * accept them. Never SVG (script) or HTML; not Ogg Theora, which browsers dropped.
 */
export const SERVED: Record<string, "image" | "av"> = {
  "image/jpeg": "image",
  "image/png": "image",
  "image/gif": "image",
  "image/webp": "image",
  "image/avif": "image",
  "video/mp4": "av",
  "video/webm": "av",
  "video/quicktime": "av",
  "audio/mpeg": "av",
  "audio/ogg": "av",
  "audio/mp4": "av",
  "audio/wav": "av",
  "audio/flac": "av",
};
export const EXTENSIONS: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  m4a: "audio/mp4",
  wav: "audio/wav",
  flac: "audio/flac",
};
/** Size caps by class, enforced while streaming. Mastodon resizes images far below 8 MB. */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
export const MAX_AV_BYTES = 40 * 1024 * 1024;
const CAP = { image: MAX_IMAGE_BYTES, av: MAX_AV_BYTES } as const;
/** Enough leading bytes for sniff() to tell every served type apart (Ogg looks furthest, 128 bytes). */
const SNIFF_HEAD = 4096;
const HEADERS_TIMEOUT_MS = 10_000;
/** The whole body, at the cap: 40 MB in 60 s needs about 5.6 Mbit/s from the remote host. */
const BODY_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 3;

const fail = (reason: MediaFailure) => ({ ok: false, reason }) as const;

export type Fetched =
  | { ok: true; contentType: string; body: ReadableStream<Uint8Array>; length?: number }
  | { ok: false; reason: MediaFailure };

const UNSAFE = new Set<FetchFailure>([
  "invalid_url",
  "scheme_not_allowed",
  "credentials",
  "ip_literal",
  "private_address",
  "port_not_allowed",
]);

/** Declared types that may hold media; the bytes decide which. */
const GENERIC_TYPES = new Set(["", "application/octet-stream", "binary/octet-stream"]);

function declaredClass(contentType: string): "image" | "av" | "any" | null {
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (GENERIC_TYPES.has(essence)) return "any";
  if (essence === "image/svg+xml") return null; // a document that runs script, whatever follows
  if (essence.startsWith("image/")) return "image";
  if (essence.startsWith("video/") || essence.startsWith("audio/")) return "av";
  return null;
}

/**
 * GETs a remote file and checks it before a byte goes to the client: status, declared class, length,
 * and the type sniffed from its first bytes, which must be served and of the declared class (image,
 * or sound and video: mislabelled PNGs and JPEGs are common, an image labelled a video is not). The
 * body that comes back is the whole file, capped while it streams.
 */
export async function fetchMedia(ctx: Ctx, url: string): Promise<Fetched> {
  let opened: { response: Response; done: () => void };
  try {
    opened = await openGuarded(ctx, url);
  } catch (e) {
    if (!(e instanceof RemoteFetchError)) throw e;
    // A redirect to where Perch does not go is refused like such a URL itself.
    return fail(UNSAFE.has(e.reason) ? "refused" : "unavailable");
  }
  const { response, done } = opened;
  const refuse = async (reason: MediaFailure) => {
    done();
    await response.body?.cancel().catch(() => undefined);
    return fail(reason);
  };
  if (response.status === 404 || response.status === 410) return refuse("not_found");
  if (response.status !== 200 || !response.body) return refuse("unavailable");
  const declared = declaredClass(response.headers.get("content-type") ?? "");
  if (!declared) return refuse("bad_type");
  // A decoded (gzip, br) body is not the length the header gives: then the length is unknown.
  const encoded = (response.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
  const header = response.headers.get("content-length") ?? "";
  const length = !encoded && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
  if (length !== undefined && length > MAX_AV_BYTES) return refuse("too_large");

  const reader = response.body.getReader();
  let head: Uint8Array;
  try {
    head = await readHead(reader, SNIFF_HEAD);
  } catch {
    done();
    return fail("unavailable");
  }
  const type = sniff(head);
  const kind = type ? SERVED[type.mime] : undefined;
  const cancel = async (reason: MediaFailure) => {
    done();
    await reader.cancel().catch(() => undefined);
    return fail(reason);
  };
  if (!type || !kind || (declared !== "any" && declared !== kind)) return cancel("bad_type");
  const cap = CAP[kind];
  if ((length !== undefined && length > cap) || head.byteLength > cap) return cancel("too_large");
  if (length !== undefined && head.byteLength > length) return cancel("unavailable");
  return { ok: true, contentType: type.mime, body: cappedBody(reader, head, cap, length, done), length };
}

async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>, want: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < want) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * The rest of the body after its first bytes, counted as it arrives: past the cap, or past or short
 * of its declared length, the stream errors (the client's copy breaks off and R2 stores nothing)
 * instead of buffering more.
 */
function cappedBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  head: Uint8Array,
  cap: number,
  length: number | undefined,
  done: () => void,
): ReadableStream<Uint8Array> {
  let total = head.byteLength;
  let first: Uint8Array | null = head;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        const chunk = first;
        first = null;
        if (chunk.byteLength) return controller.enqueue(chunk);
      }
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        done();
        return controller.error(e);
      }
      if (next.done) {
        done();
        if (length !== undefined && total !== length)
          return controller.error(new Error("body shorter than declared"));
        return controller.close();
      }
      total += next.value.byteLength;
      if (total > cap || (length !== undefined && total > length)) {
        done();
        await reader.cancel().catch(() => undefined);
        return controller.error(new Error("body over its size cap"));
      }
      controller.enqueue(next.value);
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}

/**
 * A cookie-less, unsigned GET that follows at most three redirects, each hop checked by
 * checkRemoteUrl, with 10 s for the headers and 60 s for the whole body (`done` stops the clock). The
 * same walk as fetchBounded in lib/remote-fetch.ts, which can only buffer: media must stream.
 */
async function openGuarded(ctx: Ctx, url: string): Promise<{ response: Response; done: () => void }> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), HEADERS_TIMEOUT_MS);
  const done = () => clearTimeout(timer);
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const safe = checkRemoteUrl(current, { allowLoopback: ctx.config.allowLoopback });
      if (!safe.ok) throw new RemoteFetchError(safe.reason, current);
      let response: Response;
      try {
        response = await fetch(
          new Request(safe.url.href, {
            headers: { accept: "image/*, video/*, audio/*", "user-agent": userAgent(ctx) },
            redirect: "manual",
          }),
          { redirect: "manual", signal: controller.signal },
        );
      } catch {
        throw new RemoteFetchError(controller.signal.aborted ? "timeout" : "network", current);
      }
      if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
        await response.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new RemoteFetchError("too_many_redirects", url);
        current = URL.parse(response.headers.get("location") as string, current)?.href ?? "";
        continue;
      }
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), BODY_TIMEOUT_MS);
      return { response, done };
    }
  } catch (e) {
    done();
    throw e;
  }
}
