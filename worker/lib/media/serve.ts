/**
 * Serves an R2 object as a static file: conditional requests, byte ranges (video seeking), long
 * caching, and headers that keep a browser from ever running an upload as a page.
 */

/** Keys Perch writes: lower-case path segments of letters, digits, dots, dashes and underscores. */
const KEY = /^[a-z0-9_-]+(?:\/[a-z0-9_-]+)*\/[a-z0-9_-]+\.[a-z0-9]{1,5}$/i;

/**
 * The bucket also holds what is not public: uploaded archives and their staged files (imports/),
 * activities too large for a queue message (delivery/, inbox/), archive exports (exports/).
 */
const PRIVATE = /^(?:imports|delivery|inbox|exports)\//i;

export function isMediaKey(key: string): boolean {
  return KEY.test(key) && !PRIVATE.test(key) && !key.includes("..") && key.length <= 200;
}

function baseHeaders(object: R2Object): Headers {
  const h = new Headers();
  h.set("content-type", object.httpMetadata?.contentType ?? "application/octet-stream");
  h.set("etag", object.httpEtag);
  h.set("last-modified", object.uploaded.toUTCString());
  h.set("accept-ranges", "bytes");
  h.set("cache-control", "public, max-age=31536000, immutable");
  h.set("x-content-type-options", "nosniff");
  h.set("content-security-policy", "default-src 'none'; sandbox");
  h.set("cross-origin-resource-policy", "cross-origin");
  h.set("access-control-allow-origin", "*");
  return h;
}

function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === bare);
}

/** A single byte range of an object of `size` bytes, null for none, "invalid" when unsatisfiable. */
export function parseRange(
  header: string | null,
  size: number,
): { offset: number; length: number } | null | "invalid" {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multiple or unknown ranges: the whole file, as RFC 9110 allows
  const [, a, z] = m;
  if (!a && !z) return null;
  if (!a) {
    const n = Math.min(Number(z), size);
    if (n === 0) return "invalid";
    return { offset: size - n, length: n };
  }
  const start = Number(a);
  const end = z ? Math.min(Number(z), size - 1) : size - 1;
  if (start >= size || end < start) return "invalid";
  return { offset: start, length: end - start + 1 };
}

export async function serveObject(bucket: R2Bucket, key: string, request: Request): Promise<Response> {
  const notFound = () =>
    new Response(JSON.stringify({ error: "Record not found" }), {
      status: 404,
      headers: { "content-type": "application/json", "x-content-type-options": "nosniff" },
    });
  if (!isMediaKey(key)) return notFound();
  const head = await bucket.head(key);
  if (!head) return notFound();
  const headers = baseHeaders(head);
  if (etagMatches(request.headers.get("if-none-match"), head.httpEtag)) {
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }
  let range = parseRange(request.headers.get("range"), head.size);
  // If-Range with another validator: the whole, current file.
  const ifRange = request.headers.get("if-range");
  if (range && ifRange && !etagMatches(ifRange, head.httpEtag)) range = null;
  if (range === "invalid") {
    headers.set("content-range", `bytes */${head.size}`);
    headers.delete("content-type");
    return new Response(null, { status: 416, headers });
  }
  if (request.method === "HEAD") {
    headers.set("content-length", String(head.size));
    return new Response(null, { status: 200, headers });
  }
  const object = await bucket.get(key, range ? { range } : {});
  if (!object) return notFound();
  if (range) {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    headers.set("content-length", String(range.length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}
