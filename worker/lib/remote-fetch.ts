import { readStreamCapped } from "./body";
import { checkRemoteUrl, type UrlRejection } from "./url-safety";

/**
 * The one place Perch fetches remote documents: safe URLs only (re-checked on every redirect hop), a
 * size cap enforced while streaming, a timeout, and for ActivityPub the content type and `id` checks
 * that make a document trustworthy as coming from its origin.
 */
export interface FetchOptions {
  allowLoopback: boolean;
  userAgent: string;
  /** Signs the outgoing GET (HTTP signatures are done by the caller's key). */
  sign?: (request: Request) => Promise<Request>;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

export type FetchFailure =
  | UrlRejection
  | "timeout"
  | "network"
  | "too_many_redirects"
  | "too_large"
  | "http_error"
  | "not_found"
  | "gone"
  | "bad_content_type"
  | "bad_json"
  | "id_mismatch";

export class RemoteFetchError extends Error {
  override name = "RemoteFetchError";
  constructor(
    readonly reason: FetchFailure,
    readonly url: string,
    readonly status?: number,
  ) {
    super(`fetching ${url} failed: ${reason}${status ? ` (HTTP ${status})` : ""}`);
  }
}

export const AP_ACCEPT =
  'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';
const AP_TYPES = /^application\/(activity\+json|ld\+json)\s*(;|$)/i;

/** GETs a bounded body, following at most `maxRedirects` redirects, each to a safe URL. */
export async function fetchBounded(
  url: string,
  opts: FetchOptions & { accept: string },
): Promise<{ url: string; status: number; contentType: string; body: Uint8Array }> {
  const maxRedirects = opts.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  let current = url;
  for (let hop = 0; ; hop++) {
    const safe = checkRemoteUrl(current, { allowLoopback: opts.allowLoopback });
    if (!safe.ok) throw new RemoteFetchError(safe.reason, current);
    let request = new Request(safe.url.href, {
      headers: { accept: opts.accept, "user-agent": opts.userAgent },
      redirect: "manual",
    });
    if (opts.sign) request = await opts.sign(request);
    let response: Response;
    try {
      response = await fetch(request, { redirect: "manual", signal });
    } catch (e) {
      const timedOut =
        signal.aborted || (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError"));
      throw new RemoteFetchError(timedOut ? "timeout" : "network", current);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel();
      if (hop >= maxRedirects) throw new RemoteFetchError("too_many_redirects", url);
      current = new URL(response.headers.get("location") as string, current).href;
      continue;
    }
    const body = await readCapped(response, opts.maxBytes ?? 1_048_576, current, signal);
    return {
      url: current,
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body,
    };
  }
}

async function readCapped(
  response: Response,
  max: number,
  url: string,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new RemoteFetchError("too_large", url);
  }
  if (!response.body) return new Uint8Array(0);
  let body: Uint8Array | null;
  try {
    body = await readStreamCapped(response.body, max);
  } catch {
    throw new RemoteFetchError(signal.aborted ? "timeout" : "network", url);
  }
  if (!body) throw new RemoteFetchError("too_large", url);
  return body;
}

/**
 * GETs an ActivityPub document. It is returned only if it is JSON with an ActivityStreams content type
 * and its `id` is the URL asked for (or, after redirects, the final URL, which is then what `url` says).
 */
export async function fetchActivityPub(
  url: string,
  opts: FetchOptions,
): Promise<{ url: string; document: Record<string, unknown> }> {
  const res = await fetchBounded(url, { ...opts, accept: AP_ACCEPT });
  if (res.status === 404) throw new RemoteFetchError("not_found", url, 404);
  if (res.status === 410) throw new RemoteFetchError("gone", url, 410);
  if (res.status < 200 || res.status >= 300) throw new RemoteFetchError("http_error", url, res.status);
  if (!AP_TYPES.test(res.contentType)) throw new RemoteFetchError("bad_content_type", url);
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(res.body));
  } catch {
    throw new RemoteFetchError("bad_json", url);
  }
  if (!document || typeof document !== "object" || Array.isArray(document))
    throw new RemoteFetchError("bad_json", url);
  const id = (document as { id?: unknown }).id;
  if (id !== url && id !== res.url) throw new RemoteFetchError("id_mismatch", url);
  return { url: id, document: document as Record<string, unknown> };
}
