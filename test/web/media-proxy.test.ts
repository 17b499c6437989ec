import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { presentStatuses } from "../../worker/api/entities/status";
import { accounts, favourites } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { publishNote } from "../../worker/services/post-publish";
import { proxiedMediaUrls, proxyPath } from "../../worker/services/media-proxy-urls";
import { eq } from "drizzle-orm";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { BASE, request, testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { owner, ownerFollows, process, rows } from "../helpers/inbox";
import { createRemoteActor } from "../helpers/remote-actor";
import { uploadedMedia } from "../api/statuses-helpers";
import { PNG_1x1 } from "../lib/media/files";

afterEach(() => restoreFetch());

const AVATAR = "https://files.remote.example/accounts/avatars/bob.png";
const HEADER = "https://files.remote.example/accounts/headers/bob.jpg";
const PHOTO = "https://files.remote.example/media_attachments/1/original.png";
const THUMB = "https://files.remote.example/media_attachments/1/small.png";
const EMOJI = "https://files.remote.example/custom_emojis/blobcat.png";

const png = () =>
  new Response(PNG_1x1, {
    headers: {
      "content-type": "image/png",
      "content-length": String(PNG_1x1.length),
      "set-cookie": "tracker=1",
      "x-remote-header": "yes",
      "access-control-allow-credentials": "true",
    },
  });

/** The proxy URL Perch hands out for a remote URL. */
async function proxied(url: string): Promise<string> {
  return (await proxiedMediaUrls(testCtx(), [url]))(url);
}

const isProxy = (u: string) => u.startsWith(`${BASE}/media/proxy/`);

describe("the media proxy route", () => {
  it("serves a remote image with its own headers only, then from Cloudflare's cache without a fetch", async () => {
    const mock = mockFetch({ [AVATAR]: png });
    const url = await proxied(AVATAR);
    const res = await request(url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG_1x1);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(res.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("x-remote-header")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(mock.calls).toHaveLength(1);
    expect(await rows("SELECT url FROM media_cache")).toEqual([{ url: AVATAR }]);

    await env.MEDIA.delete((await env.MEDIA.list({ prefix: "proxy/" })).objects.map((o) => o.key));
    const again = await request(url);
    expect(again.status).toBe(200);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(PNG_1x1);
    expect(again.headers.get("content-type")).toBe("image/png");
    expect(mock.calls, "neither R2 nor the remote host was needed").toHaveLength(1);
  });

  it("answers 403 for a missing or wrong signature and 400 for a path it did not make", async () => {
    const mock = mockFetch({ [AVATAR]: png });
    const url = new URL(await proxied(AVATAR));
    const other = new URL(await proxied(HEADER));

    const missing = await request(`${url.origin}${url.pathname}`);
    expect(missing.status).toBe(403);
    expect(missing.headers.get("content-type")).toMatch(/^text\/plain/);
    expect((await request(`${url.origin}${url.pathname}?s=${other.searchParams.get("s")}`)).status).toBe(403);
    expect((await request(`${url.origin}${url.pathname}?s=not-a-signature`)).status).toBe(403);

    const s = url.searchParams.get("s");
    expect((await request(`/media/proxy/%%%?s=${s}`)).status).toBe(400);
    expect((await request(`${url.pathname.replace(/\.png$/, ".gif")}?s=${s}`)).status).toBe(400);
    expect((await request(`/media/proxy/a/b?s=${s}`)).status).toBe(400);
    expect(mock.calls).toHaveLength(0);
  });

  it("refuses a signed URL to a private address without fetching it", async () => {
    const mock = mockFetch({});
    const res = await request(await proxied("https://192.168.1.10/avatar.png"));
    expect(res.status).toBe(403);
    expect(mock.calls).toHaveLength(0);
  });

  it("answers 404 for a file gone upstream and 502 for a host that fails or sends what it may not", async () => {
    mockFetch({
      [PHOTO]: () => new Response("<html>", { headers: { "content-type": "text/html" } }),
      [THUMB]: () => new Response("oops", { status: 503 }),
    });
    const gone = await request(await proxied(AVATAR));
    expect(gone.status).toBe(404);
    const html = await request(await proxied(PHOTO));
    expect(html.status).toBe(502);
    expect(html.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await html.text()).not.toContain("<html>");
    expect((await request(await proxied(THUMB))).status).toBe(502);
  });

  it("does not leave the R2 copies readable through the owner's /media/ route", async () => {
    mockFetch({ [AVATAR]: png });
    await request(await proxied(AVATAR));
    const [key] = (await env.MEDIA.list({ prefix: "proxy/" })).objects.map((o) => o.key);
    expect(key).toBeDefined();
    for (const path of [`/media/${key}`, `/media/${key}.png`]) {
      const res = await request(path);
      // Answered by the proxy (plain text, refused), never by serveObject (the file, or JSON).
      expect([400, 403]).toContain(res.status);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    }
  });
});

describe("API answers point at the proxy", () => {
  it("for a remote account's avatar and header, but not for the owner's uploads or the default images", async () => {
    const bob = await remoteAccount("bob", "remote.example", {
      icon: { type: "Image", mediaType: "image/png", url: AVATAR },
      image: { type: "Image", mediaType: "image/jpeg", url: HEADER },
    });
    const carol = await remoteAccount("carol");
    const res = await api("GET", `/api/v1/accounts/${bob.id}`);
    expect(res.status).toBe(200);
    expect(res.body.avatar).toBe(await proxied(AVATAR));
    expect(res.body.avatar_static).toBe(res.body.avatar);
    expect(res.body.header).toBe(await proxied(HEADER));
    expect(res.body.header_static).toBe(res.body.header);
    expect(new URL(res.body.header).pathname).toBe(proxyPath(HEADER));

    const plain = await api("GET", `/api/v1/accounts/${carol.id}`);
    expect(plain.body.avatar).toBe(`${BASE}/avatars/original/missing.png`);
    expect(plain.body.header).toBe(`${BASE}/headers/original/missing.png`);

    const me = await owner();
    const ownAvatar = `${BASE}/media/profile/avatar-1.png`;
    await testCtx().db.update(accounts).set({ avatarUrl: ownAvatar }).where(eq(accounts.id, me.id));
    expect((await api("GET", `/api/v1/accounts/${me.id}`)).body.avatar).toBe(ownAvatar);
  });

  it("for a remote status' attachments and emoji (remote_url keeps the original), not a local one's", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob", "remote.example", {
      icon: { type: "Image", mediaType: "image/png", url: AVATAR },
    });
    const remote = await remoteStatus(bob, {
      extra: {
        attachment: [
          { type: "Document", mediaType: "image/png", url: PHOTO, icon: { type: "Image", url: THUMB } },
        ],
      },
    });
    const m = await uploadedMedia();
    const local = await publishNote(ctx, { text: "mine", visibility: "public", mediaIds: [m.id] });
    // Reactions arrive on the owner's posts only (federation/inbox/like.ts); their images are remote.
    await ctx.db.insert(favourites).values({
      id: newId(),
      accountId: bob.id,
      statusId: local.id,
      uri: `${bob.uri}#likes/1`,
      emoji: ":blobcat:",
      emojiUrl: EMOJI,
    });

    const [r, l] = await presentStatuses(ctx, [remote, local]);
    const attachment = (r as any).media_attachments[0];
    expect(attachment.url).toBe(await proxied(PHOTO));
    expect(attachment.preview_url).toBe(await proxied(THUMB));
    expect(attachment.remote_url).toBe(PHOTO);
    expect((r as any).account.avatar).toBe(await proxied(AVATAR));
    expect((l as any).reactions[0].url).toBe(await proxied(EMOJI));
    expect((l as any).pleroma.emoji_reactions[0].url).toBe(await proxied(EMOJI));

    const own = (l as any).media_attachments[0];
    expect(own.url).toBe(`${BASE}/media/${m.key}`);
    expect(isProxy(own.url) || isProxy(own.preview_url)).toBe(false);

    // And through the API, the same.
    const res = await api("GET", `/api/v1/statuses/${remote.id}`);
    expect(res.body.media_attachments[0].url).toBe(await proxied(PHOTO));
  });

  it("without anything written to R2 or fetched when a remote status is merely stored and shown", async () => {
    const bob = await createRemoteActor("https://remote.example/users/bob", {
      icon: { type: "Image", mediaType: "image/png", url: AVATAR },
      image: { type: "Image", mediaType: "image/jpeg", url: HEADER },
    });
    const mock = mockFetch({ [bob.id]: () => new Response(JSON.stringify(bob.document)) });
    const account = await ownerFollows(bob.document);
    await process({
      id: `${bob.id}/statuses/1/activity`,
      type: "Create",
      actor: bob.id,
      object: {
        id: `${bob.id}/statuses/1`,
        type: "Note",
        attributedTo: bob.id,
        content: "<p>a photo</p>",
        published: new Date().toISOString(),
        to: ["https://www.w3.org/ns/activitystreams#Public"],
        attachment: [{ type: "Document", mediaType: "image/png", url: PHOTO }],
      },
    });
    const [stored] = await rows<{ id: string }>("SELECT id FROM statuses");
    expect(stored).toBeDefined();
    const status = await api("GET", `/api/v1/statuses/${stored!.id}`);
    expect(isProxy(status.body.media_attachments[0].url)).toBe(true);
    const list = await api("GET", `/api/v1/accounts/${account.id}/statuses`);
    expect(list.status).toBe(200);
    expect(isProxy(list.body[0].account.avatar)).toBe(true);

    expect((await env.MEDIA.list()).objects).toHaveLength(0);
    expect(await rows("SELECT * FROM media_cache")).toEqual([]);
    const media = [AVATAR, HEADER, PHOTO];
    expect(mock.calls.filter((r) => media.includes(r.url))).toEqual([]);
  });
});
