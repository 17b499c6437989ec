import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { request } from "../helpers/app";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { GIF_1x1, JPEG_1x1, PNG_1x1, WEBP_1x1, fileOf, mp4, png } from "../lib/media/files";

let token: string;
beforeEach(async () => {
  token = await userToken("read write");
});

function form(fields: Record<string, string | File>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

async function upload(fields: Record<string, string | File>, path = "/api/v2/media") {
  return api("POST", path, token, form(fields));
}

const keyOf = (url: string) => new URL(url).pathname.replace(/^\/media\//, "");

describe("uploading media", () => {
  it.each([
    ["PNG", PNG_1x1, "image/png", "png"],
    ["GIF", GIF_1x1, "image/gif", "gif"],
    ["JPEG", JPEG_1x1, "image/jpeg", "jpg"],
    ["WebP", WEBP_1x1, "image/webp", "webp"],
  ])("stores a %s in R2 and answers a ready MediaAttachment", async (_n, bytes, mime, ext) => {
    const res = await upload({
      file: fileOf(bytes, `x.${ext}`, "application/octet-stream"),
      description: "a dot",
    });
    expect(res.status).toBe(200);
    expectEntity("MediaAttachment", res.body);
    expect(res.body).toMatchObject({
      type: "image",
      description: "a dot",
      meta: { original: { width: 1, height: 1, size: "1x1", aspect: 1 } },
    });
    expect(res.body.url).toMatch(
      new RegExp(`^https://social\\.example\\.com/media/media/${res.body.id}/original\\.${ext}$`),
    );
    const object = await env.MEDIA.get(keyOf(res.body.url));
    expect(object?.httpMetadata?.contentType).toBe(mime);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes);
    const [row] = await rows(
      "SELECT status_id, mime_type, size FROM media_attachments WHERE id = ?",
      res.body.id,
    );
    expect(row).toEqual({ status_id: null, mime_type: mime, size: bytes.length });
  });

  it("works on /api/v1/media too, with a focus point and a thumbnail", async () => {
    const res = await upload(
      {
        file: fileOf(await png(40, 20), "a.png", "image/png"),
        focus: "-0.5,1",
        thumbnail: fileOf(GIF_1x1, "t.gif", "image/gif"),
      },
      "/api/v1/media",
    );
    expect(res.status).toBe(200);
    expectEntity("MediaAttachment", res.body);
    expect(res.body.meta).toMatchObject({
      original: { width: 40, height: 20, aspect: 2 },
      focus: { x: -0.5, y: 1 },
    });
    expect(res.body.preview_url).toMatch(/\/thumbnail-\d+\.gif$/);
    expect((await request(res.body.preview_url)).headers.get("content-type")).toBe("image/gif");
  });

  it("stores a video as type video with the size of its video track", async () => {
    const res = await upload({ file: fileOf(mp4(1920, 1080), "clip.mov", "video/quicktime") });
    expect(res.status).toBe(200);
    expectEntity("MediaAttachment", res.body);
    expect(res.body).toMatchObject({ type: "video", meta: { original: { width: 1920, height: 1080 } } });
    expect(res.body.url).toMatch(/original\.mp4$/);
    expect((await request(res.body.url)).headers.get("content-type")).toBe("video/mp4");
  });

  it("stores audio as type audio", async () => {
    const flac = Uint8Array.from([0x66, 0x4c, 0x61, 0x43, 0, 0, 0, 0x22, ...new Array(34).fill(0)]);
    const res = await upload({ file: fileOf(flac, "a.bin", "application/octet-stream") });
    expect(res.status).toBe(200);
    expectEntity("MediaAttachment", res.body);
    expect(res.body.type).toBe("audio");
  });

  it("refuses a text file named .png and declared image/png (422), storing nothing", async () => {
    const res = await upload({
      file: fileOf(new TextEncoder().encode("<html>not an image</html>"), "x.png", "image/png"),
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/content type is not supported/);
    expect(await rows("SELECT id FROM media_attachments")).toEqual([]);
    expect((await env.MEDIA.list()).objects).toEqual([]);
  });

  it("refuses an image over the 16 MiB limit", async () => {
    const big = new Uint8Array(16 * 1024 * 1024 + 1);
    big.set(PNG_1x1);
    const res = await upload({ file: fileOf(big, "big.png", "image/png") });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/less than 16 MB/);
    expect((await env.MEDIA.list()).objects).toEqual([]);
  });

  it("refuses a body over the largest upload with 413", async () => {
    const res = await api(
      "POST",
      "/api/v2/media",
      token,
      form({ file: fileOf(PNG_1x1, "a.png", "image/png") }),
      {
        "content-length": String(200 * 1024 * 1024),
      },
    );
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: expect.any(String) });
  });

  it.each([
    [{ focus: "2,0" }, /focus/],
    [{ focus: "nope" }, /focus/],
    [{ description: "x".repeat(1501) }, /description/],
  ])("422 for bad parameters %j", async (extra, message) => {
    const res = await upload({ file: fileOf(PNG_1x1, "a.png", "image/png"), ...extra });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(message);
  });

  it("422 without a file; a thumbnail must be an image", async () => {
    expect((await upload({ description: "x" })).status).toBe(422);
    const res = await upload({
      file: fileOf(PNG_1x1, "a.png", "image/png"),
      thumbnail: fileOf(new Uint8Array([0x66, 0x4c, 0x61, 0x43, 0, 0]), "t.flac", "image/png"),
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/Thumbnail/);
  });

  it("needs write:media", async () => {
    const read = await userToken("read");
    const res = await api(
      "POST",
      "/api/v2/media",
      read,
      form({ file: fileOf(PNG_1x1, "a.png", "image/png") }),
    );
    expect(res.status).toBe(403);
    expect(
      (await api("POST", "/api/v2/media", undefined, form({ file: fileOf(PNG_1x1, "a.png", "image/png") })))
        .status,
    ).toBe(401);
  });
});

describe("reading, changing and deleting uploads", () => {
  it("GET answers the attachment; unknown ids and attached media are 404", async () => {
    const up = await upload({ file: fileOf(PNG_1x1, "a.png", "image/png") });
    const got = await api("GET", `/api/v1/media/${up.body.id}`, token);
    expect(got.status).toBe(200);
    expectEntity("MediaAttachment", got.body);
    expect(got.body).toEqual(up.body);
    expect((await api("GET", "/api/v1/media/12345", token)).status).toBe(404);
    expect((await api("GET", "/api/v1/media/nope", token)).status).toBe(404);
    await env.DB.prepare("UPDATE media_attachments SET status_id = '1' WHERE id = ?").bind(up.body.id).run();
    expect((await api("GET", `/api/v1/media/${up.body.id}`, token)).status).toBe(404);
  });

  it("PUT changes description, focus and thumbnail while unattached", async () => {
    const up = await upload({ file: fileOf(PNG_1x1, "a.png", "image/png"), description: "old" });
    const res = await api("PUT", `/api/v1/media/${up.body.id}`, token, {
      description: "new words",
      focus: "0.25,-0.75",
    });
    expect(res.status).toBe(200);
    expectEntity("MediaAttachment", res.body);
    expect(res.body).toMatchObject({ description: "new words", meta: { focus: { x: 0.25, y: -0.75 } } });
    const thumb = await api(
      "PUT",
      `/api/v1/media/${up.body.id}`,
      token,
      form({ thumbnail: fileOf(JPEG_1x1, "t.jpg", "image/jpeg") }),
    );
    expect(thumb.status).toBe(200);
    expectEntity("MediaAttachment", thumb.body);
    expect(thumb.body.preview_url).toMatch(/thumbnail-\d+\.jpg$/);
    expect(thumb.body.description).toBe("new words");
    const bad = await api("PUT", `/api/v1/media/${up.body.id}`, token, { focus: "1,9" });
    expect(bad.status).toBe(422);
    await env.DB.prepare("UPDATE media_attachments SET status_id = '1' WHERE id = ?").bind(up.body.id).run();
    expect((await api("PUT", `/api/v1/media/${up.body.id}`, token, { description: "late" })).status).toBe(
      404,
    );
  });

  it("DELETE removes an unattached upload and its files; attached media is 422", async () => {
    const up = await upload({
      file: fileOf(PNG_1x1, "a.png", "image/png"),
      thumbnail: fileOf(GIF_1x1, "t.gif", "image/gif"),
    });
    expect((await env.MEDIA.list()).objects).toHaveLength(2);
    const res = await api("DELETE", `/api/v1/media/${up.body.id}`, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect((await env.MEDIA.list()).objects).toEqual([]);
    expect(await rows("SELECT id FROM media_attachments")).toEqual([]);
    expect((await request(up.body.url)).status).toBe(404);
    expect((await api("DELETE", `/api/v1/media/${up.body.id}`, token)).status).toBe(404);

    const used = await upload({ file: fileOf(PNG_1x1, "a.png", "image/png") });
    await env.DB.prepare("UPDATE media_attachments SET status_id = '1' WHERE id = ?")
      .bind(used.body.id)
      .run();
    const refused = await api("DELETE", `/api/v1/media/${used.body.id}`, token);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/used by a status/);
    expect((await request(used.body.url)).status).toBe(200);
  });
});

describe("serving files", () => {
  async function stored() {
    const bytes = await png(64, 64);
    const up = await upload({ file: fileOf(bytes, "a.png", "image/png") });
    return { bytes, url: up.body.url as string };
  }

  it("serves the file with its type, length, ETag and safe, long-lived caching headers", async () => {
    const { bytes, url } = await stored();
    const res = await request(url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
  });

  it("answers 304 to If-None-Match with the ETag", async () => {
    const { url } = await stored();
    const etag = (await request(url)).headers.get("etag") as string;
    const res = await request(url, { headers: { "if-none-match": etag } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe("");
    expect((await request(url, { headers: { "if-none-match": '"other"' } })).status).toBe(200);
  });

  it("answers byte ranges with 206 and 416 when unsatisfiable", async () => {
    const { bytes, url } = await stored();
    const res = await request(url, { headers: { range: "bytes=8-15" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 8-15/${bytes.length}`);
    expect(res.headers.get("content-length")).toBe("8");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(8, 16));
    const tail = await request(url, { headers: { range: "bytes=-4" } });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(-4));
    const bad = await request(url, { headers: { range: `bytes=${bytes.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
  });

  it("answers HEAD with the headers and no body", async () => {
    const { bytes, url } = await stored();
    const res = await request(url, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(await res.text()).toBe("");
  });

  it.each([
    "/media/media/1/original.png",
    "/media/..%2F..%2Fsecret.png",
    "/media/media/%2e%2e/x.png",
    "/media/",
  ])("404 for %s", async (path) => {
    await stored();
    const res = await request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Record not found" });
  });
});
