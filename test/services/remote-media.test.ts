import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { settings } from "../../worker/db/schema";
import {
  DEFAULT_BUDGET_BYTES,
  TOUCH_INTERVAL_MS,
  cacheBudget,
  cacheObjectKey,
} from "../../worker/services/media-cache";
import { MAX_IMAGE_BYTES } from "../../worker/services/media-fetch";
import {
  parseProxyPath,
  proxiedMediaUrls,
  proxyPath,
  verifyProxySignature,
} from "../../worker/services/media-proxy-urls";
import { openRemoteMedia, type MediaResult } from "../../worker/services/remote-media";
import { BASE, testCtx } from "../helpers/app";
import { createCtx } from "../../worker/context";
import { readConfig } from "../../worker/config";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { GIF_1x1, JPEG_1x1, mp4, PNG_1x1 } from "../lib/media/files";

afterEach(() => restoreFetch());

const IMG = "https://files.remote.example/media/a.png";

/** A remote file as a media host serves it: its bytes, a declared type and (unless told) its length. */
function file(bytes: Uint8Array, type = "image/png", extra: Record<string, string> = {}) {
  return () =>
    new Response(bytes, {
      headers: { "content-type": type, "content-length": String(bytes.byteLength), ...extra },
    });
}

/** A PNG of exactly `size` bytes (a real header, then padding). */
function pngOf(size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(PNG_1x1.subarray(0, Math.min(size, PNG_1x1.length)));
  return out;
}

/** Opens a URL through the service the way the route does, reading the whole body, and lets background work finish. */
async function view(url: string, range?: string) {
  const ctx = testCtx();
  const pending: Promise<unknown>[] = [];
  ctx.waitUntil = (p) => void pending.push(p);
  const result = await openRemoteMedia(ctx, url, range ? { range } : {});
  let bytes: Uint8Array | null = null;
  let broke = false;
  if (result.ok && result.body) {
    try {
      bytes = new Uint8Array(await new Response(result.body).arrayBuffer());
    } catch {
      broke = true;
    }
  }
  await Promise.all(pending);
  return { result, bytes, broke };
}

async function hashOf(url: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(url)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function proxyObjects(): Promise<string[]> {
  return (await env.MEDIA.list({ prefix: "proxy/" })).objects.map((o) => o.key);
}

const reason = (r: MediaResult) => (r.ok ? `ok ${r.status}` : r.reason);

async function setBudget(bytes: number) {
  await testCtx().db.insert(settings).values({ key: "media_cache_budget_bytes", value: bytes });
}

describe("proxy URLs", () => {
  it("are signed for remote URLs and leave Perch's own files and default images alone", async () => {
    const own = `${BASE}/media/media/1/original.png`;
    const media = await proxiedMediaUrls(testCtx(), [IMG, own, null, undefined]);
    const proxied = new URL(media(IMG));
    expect(proxied.origin).toBe(BASE);
    expect(proxied.pathname).toMatch(/^\/media\/proxy\/[A-Za-z0-9_-]+\.png$/);
    expect(parseProxyPath(proxied.pathname)).toBe(IMG);
    expect(await verifyProxySignature(testCtx(), IMG, proxied.searchParams.get("s")!)).toBe(true);
    expect(media(own)).toBe(own);
    expect(media(`${BASE}/avatars/original/missing.png`)).toBe(`${BASE}/avatars/original/missing.png`);
    expect(() => media("https://elsewhere.example/x.png"), "a URL nobody signed is a bug").toThrow();
  });

  it("have one spelling: another extension, padding or a non-canonical encoding does not parse", () => {
    const path = proxyPath(IMG);
    expect(parseProxyPath(path)).toBe(IMG);
    expect(parseProxyPath(path.replace(/\.png$/, ".jpg"))).toBeNull();
    expect(parseProxyPath(path.replace(/\.png$/, ""))).toBeNull();
    expect(parseProxyPath(`${path.replace(/\.png$/, "")}=.png`)).toBeNull();
    expect(parseProxyPath("/media/proxy/%%%")).toBeNull();
    // "_w" decodes to one byte 0xff (not UTF-8); "QQ" and "QR" both decode to "A", only "QQ" is canonical.
    expect(parseProxyPath("/media/proxy/_w")).toBeNull();
    expect(parseProxyPath("/media/proxy/QR")).toBeNull();
    // No extension when the remote path names no allowed type.
    expect(proxyPath("https://remote.example/avatar/1")).toMatch(/^\/media\/proxy\/[A-Za-z0-9_-]+$/);
    expect(proxyPath("https://remote.example/x.svg")).not.toMatch(/\.svg$/);
  });

  it("refuse a signature made for another URL or malformed", async () => {
    const media = await proxiedMediaUrls(testCtx(), [IMG]);
    const s = new URL(media(IMG)).searchParams.get("s")!;
    expect(await verifyProxySignature(testCtx(), `${IMG}?x`, s)).toBe(false);
    expect(await verifyProxySignature(testCtx(), IMG, `${s.slice(0, -1)}A`)).toBe(s.endsWith("A"));
    expect(await verifyProxySignature(testCtx(), IMG, "short")).toBe(false);
    expect(await verifyProxySignature(testCtx(), IMG, undefined)).toBe(false);
  });
});

describe("serving remote media", () => {
  it("streams an allowed image, keeps it in R2 with its row, and serves the next view from R2", async () => {
    const mock = mockFetch({ [IMG]: file(PNG_1x1, "image/png", { "set-cookie": "a=b" }) });
    const first = await view(IMG);
    expect(reason(first.result)).toBe("ok 200");
    expect(first.bytes).toEqual(PNG_1x1);
    expect(first.result.ok && first.result.contentType).toBe("image/png");
    expect(mock.calls).toHaveLength(1);
    expect(mock.calls[0]!.headers.get("cookie")).toBeNull();
    expect(mock.calls[0]!.headers.get("signature")).toBeNull();

    const hash = await hashOf(IMG);
    expect(await proxyObjects()).toEqual([cacheObjectKey(hash)]);
    expect(await rows("SELECT url, content_type, bytes FROM media_cache")).toEqual([
      { url: IMG, content_type: "image/png", bytes: PNG_1x1.length },
    ]);
    expect(await rows("SELECT value FROM settings WHERE key = 'media_cache_bytes'")).toEqual([
      { value: String(PNG_1x1.length) },
    ]);

    const second = await view(IMG);
    expect(second.bytes).toEqual(PNG_1x1);
    expect(mock.calls, "no second remote fetch").toHaveLength(1);
  });

  it("answers byte ranges from the R2 copy, and 416 for one past the end", async () => {
    mockFetch({ [IMG]: file(PNG_1x1) });
    await view(IMG);
    const part = await view(IMG, "bytes=0-7");
    expect(part.result.ok && part.result.status).toBe(206);
    expect(part.result.ok && part.result.contentRange).toBe(`bytes 0-7/${PNG_1x1.length}`);
    expect(part.bytes).toEqual(PNG_1x1.subarray(0, 8));
    const past = await view(IMG, "bytes=9999-");
    expect(past.result.ok && past.result.status).toBe(416);
  });

  it("takes the type from the bytes when the host says only octet-stream, or another image type", async () => {
    mockFetch({
      "https://files.remote.example/a": file(GIF_1x1, "application/octet-stream"),
      "https://files.remote.example/b.png": file(JPEG_1x1, "image/png"),
      "https://files.remote.example/c.m4a": file(mp4(0, 0), "audio/mp4"),
    });
    const a = await view("https://files.remote.example/a");
    expect(a.result.ok && a.result.contentType).toBe("image/gif");
    const b = await view("https://files.remote.example/b.png");
    expect(b.result.ok && b.result.contentType).toBe("image/jpeg");
    const c = await view("https://files.remote.example/c.m4a");
    expect(c.result.ok && c.result.contentType).toBe("video/mp4");
  });

  it.each([
    ["an HTML page", new TextEncoder().encode("<!doctype html><script>alert(1)</script>"), "text/html"],
    [
      "an SVG image (it can carry script)",
      new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      "image/svg+xml",
    ],
    ["HTML declared as a PNG", new TextEncoder().encode("<html><body>hi</body></html>"), "image/png"],
    ["a PNG declared as a video", PNG_1x1, "video/mp4"],
    ["a video declared as an image", mp4(16, 16), "image/jpeg"],
    ["a BMP (not served)", new Uint8Array([0x42, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0]), "image/bmp"],
  ])("refuses %s and stores nothing", async (_name, bytes, type) => {
    mockFetch({ [IMG]: file(bytes, type) });
    const { result } = await view(IMG);
    expect(reason(result)).toBe("bad_type");
    expect(await proxyObjects()).toEqual([]);
    expect(await rows("SELECT * FROM media_cache")).toEqual([]);
  });

  it("refuses a file declared over the cap without reading it", async () => {
    let pulled = 0;
    mockFetch({
      [IMG]: () =>
        new Response(
          new ReadableStream({
            pull(c) {
              pulled++;
              c.enqueue(pngOf(65536));
            },
          }),
          { headers: { "content-type": "image/png", "content-length": String(MAX_IMAGE_BYTES + 1) } },
        ),
    });
    expect(reason((await view(IMG)).result)).toBe("too_large");
    expect(pulled).toBeLessThanOrEqual(2);
    expect(await proxyObjects()).toEqual([]);
  });

  it("breaks off a body that passes the cap while streaming, storing nothing", async () => {
    // No Content-Length (chunked), or one that lies: counted as the bytes arrive.
    const big = pngOf(MAX_IMAGE_BYTES + 1);
    mockFetch({
      "https://files.remote.example/chunked.png": () =>
        new Response(new Blob([big]).stream(), { headers: { "content-type": "image/png" } }),
      "https://files.remote.example/lying.png": () =>
        new Response(new Blob([pngOf(4096 * 4)]).stream(), {
          headers: { "content-type": "image/png", "content-length": "5000" },
        }),
    });
    const chunked = await view("https://files.remote.example/chunked.png");
    expect(chunked.result.ok).toBe(true);
    expect(chunked.broke).toBe(true);
    const lying = await view("https://files.remote.example/lying.png");
    expect(lying.broke).toBe(true);
    expect(await proxyObjects()).toEqual([]);
    expect(await rows("SELECT * FROM media_cache")).toEqual([]);
  });

  it.each([
    ["a private address", "https://10.0.0.1/a.png"],
    ["loopback", "http://127.0.0.1:8080/a.png"],
    ["localhost", "https://localhost/a.png"],
    ["an internal name", "https://metadata.google.internal/computeMetadata/v1/"],
    ["a non-http scheme", "file:///etc/passwd"],
    ["plain http", "http://files.remote.example/a.png"],
  ])("refuses %s without fetching", async (_name, url) => {
    const mock = mockFetch({});
    expect(reason((await view(url)).result)).toBe("refused");
    expect(mock.calls).toHaveLength(0);
  });

  it("refuses a redirect to a private address, fetching only the first hop", async () => {
    const mock = mockFetch({
      [IMG]: () => new Response(null, { status: 302, headers: { location: "https://192.168.1.1/a.png" } }),
    });
    expect(reason((await view(IMG)).result)).toBe("refused");
    expect(mock.calls.map((r) => r.url)).toEqual([IMG]);
  });

  it("follows a redirect to a safe host", async () => {
    const moved = "https://cdn.remote.example/a.png";
    mockFetch({
      [IMG]: () => new Response(null, { status: 301, headers: { location: moved } }),
      [moved]: file(PNG_1x1),
    });
    expect((await view(IMG)).bytes).toEqual(PNG_1x1);
  });

  it("tells a missing remote file from a failing host", async () => {
    mockFetch({
      "https://files.remote.example/gone.png": () => new Response("", { status: 410 }),
      "https://files.remote.example/err.png": () => new Response("", { status: 500 }),
      "https://files.remote.example/auth.png": () => new Response("", { status: 403 }),
    });
    expect(reason((await view("https://files.remote.example/missing.png")).result)).toBe("not_found");
    expect(reason((await view("https://files.remote.example/gone.png")).result)).toBe("not_found");
    expect(reason((await view("https://files.remote.example/err.png")).result)).toBe("unavailable");
    expect(reason((await view("https://files.remote.example/auth.png")).result)).toBe("unavailable");
  });
});

describe("the R2 cache budget", () => {
  it("is 1 GiB unless the settings say otherwise", async () => {
    expect(await cacheBudget(testCtx())).toBe(DEFAULT_BUDGET_BYTES);
    await setBudget(1234);
    expect(await cacheBudget(testCtx())).toBe(1234);
  });

  it("is MEDIA_CACHE_BUDGET_BYTES when set to a whole number of bytes, and the owner's setting wins", async () => {
    const withVar = (value: string) =>
      createCtx({ ...env, MEDIA_CACHE_BUDGET_BYTES: value }, readConfig(env));
    expect(await cacheBudget(withVar("5000000"))).toBe(5_000_000);
    expect(await cacheBudget(withVar("0"))).toBe(0);
    expect(await cacheBudget(withVar("lots"))).toBe(DEFAULT_BUDGET_BYTES);
    expect(await cacheBudget(withVar("-5"))).toBe(DEFAULT_BUDGET_BYTES);
    await setBudget(1234);
    expect(await cacheBudget(withVar("5000000"))).toBe(1234);
  });

  it("evicts the least recently used items, not the oldest stored, until within the budget", async () => {
    await setBudget(250);
    const url = (n: string) => `https://files.remote.example/${n}.png`;
    mockFetch(Object.fromEntries(["a", "b", "c"].map((n) => [url(n), file(pngOf(100))])));
    await view(url("a"));
    await view(url("b"));
    // a was stored first but used last: b becomes the least recently used.
    const earlier = (ms: number) => new Date(Date.now() - ms).toISOString();
    await env.DB.prepare("UPDATE media_cache SET last_used_at = ? WHERE url = ?")
      .bind(earlier(3 * TOUCH_INTERVAL_MS), url("a"))
      .run();
    await env.DB.prepare("UPDATE media_cache SET last_used_at = ? WHERE url = ?")
      .bind(earlier(2 * TOUCH_INTERVAL_MS), url("b"))
      .run();
    await view(url("a")); // from R2; its last use is refreshed
    await view(url("c")); // 300 bytes > 250: one must go

    const kept = await rows<{ url: string }>("SELECT url FROM media_cache ORDER BY url");
    expect(kept.map((r) => r.url)).toEqual([url("a"), url("c")]);
    expect((await proxyObjects()).sort()).toEqual(
      [cacheObjectKey(await hashOf(url("a"))), cacheObjectKey(await hashOf(url("c")))].sort(),
    );
    expect(await rows("SELECT value FROM settings WHERE key = 'media_cache_bytes'")).toEqual([
      { value: "200" },
    ]);
  });

  it("evicts several items at once when a large one arrives", async () => {
    await setBudget(1000);
    const url = (n: number) => `https://files.remote.example/${n}.png`;
    mockFetch({
      ...Object.fromEntries([1, 2, 3, 4].map((n) => [url(n), file(pngOf(200))])),
      [url(5)]: file(pngOf(700)),
    });
    for (const n of [1, 2, 3, 4]) {
      await view(url(n));
      await env.DB.prepare("UPDATE media_cache SET last_used_at = ? WHERE url = ?")
        .bind(new Date(Date.now() - (10 - n) * 60_000).toISOString(), url(n))
        .run();
    }
    await view(url(5)); // 1500 bytes: 1, 2 and 3 go (900 bytes left)
    const kept = await rows<{ url: string }>("SELECT url FROM media_cache ORDER BY url");
    expect(kept.map((r) => r.url)).toEqual([url(4), url(5)]);
    expect(await proxyObjects()).toHaveLength(2);
    expect(await rows("SELECT value FROM settings WHERE key = 'media_cache_bytes'")).toEqual([
      { value: "900" },
    ]);
  });

  it("does not store what is larger than the budget, or anything when the budget is 0", async () => {
    await setBudget(50);
    mockFetch({ [IMG]: file(PNG_1x1 /* 70 bytes */) });
    expect((await view(IMG)).bytes).toEqual(PNG_1x1);
    await testCtx().db.update(settings).set({ value: 0 });
    expect((await view(IMG)).bytes).toEqual(PNG_1x1);
    expect(await proxyObjects()).toEqual([]);
    expect(await rows("SELECT * FROM media_cache")).toEqual([]);
  });

  it("refreshes an item's last use at most once an hour", async () => {
    mockFetch({ [IMG]: file(PNG_1x1) });
    await view(IMG);
    const [stored] = await rows<{ last_used_at: string }>("SELECT last_used_at FROM media_cache");
    await view(IMG);
    expect(await rows("SELECT last_used_at FROM media_cache")).toEqual([stored]);
    const old = new Date(Date.now() - TOUCH_INTERVAL_MS - 1000).toISOString();
    await env.DB.prepare("UPDATE media_cache SET last_used_at = ?").bind(old).run();
    await view(IMG);
    const [after] = await rows<{ last_used_at: string }>("SELECT last_used_at FROM media_cache");
    expect(after!.last_used_at > old).toBe(true);
  });

  it("counts a file once when two views race to store it", async () => {
    mockFetch({ [IMG]: file(pngOf(300)) });
    const [a, b] = await Promise.all([view(IMG), view(IMG)]);
    expect(a.bytes).toHaveLength(300);
    expect(b.bytes).toHaveLength(300);
    expect(await rows("SELECT bytes FROM media_cache")).toEqual([{ bytes: 300 }]);
    expect(await rows("SELECT value FROM settings WHERE key = 'media_cache_bytes'")).toEqual([
      { value: "300" },
    ]);
    expect(await proxyObjects()).toHaveLength(1);
  });

  it("refetches an item whose object is gone though its row remains", async () => {
    const mock = mockFetch({ [IMG]: file(PNG_1x1) });
    await view(IMG);
    await env.MEDIA.delete(cacheObjectKey(await hashOf(IMG)));
    expect((await view(IMG)).bytes).toEqual(PNG_1x1);
    expect(mock.calls).toHaveLength(2);
    expect(await rows("SELECT bytes FROM media_cache")).toEqual([{ bytes: PNG_1x1.length }]);
    expect(await rows("SELECT value FROM settings WHERE key = 'media_cache_bytes'")).toEqual([
      { value: String(PNG_1x1.length) },
    ]);
  });
});
