import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../helpers/api";
import { ACTOR, AS_JSON, BASE, request } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { process, rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { createRemoteActor } from "../helpers/remote-actor";
import { GIF_1x1, PNG_1x1, fileOf } from "../lib/media/files";
import { queuedDeliveries } from "../helpers/deliveries";

let token: string;
beforeEach(async () => {
  token = await userToken("read write");
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const update = (body: Record<string, unknown> | FormData | URLSearchParams, t = token) =>
  api("PATCH", "/api/v1/accounts/update_credentials", t, body);

function deliveries(spy: { mock: { calls: unknown[][] } }) {
  return queuedDeliveries(spy.mock.calls);
}

describe("update_credentials", () => {
  it("updates the profile from JSON and answers a CredentialAccount", async () => {
    const res = await update({
      display_name: "Alice A.",
      note: "Hi <there> & welcome\nsecond line\n\nsee https://example.org/about",
      locked: true,
      bot: true,
      discoverable: false,
      indexable: false,
      hide_collections: true,
      fields_attributes: [
        { name: "Web", value: "https://alice.example" },
        { name: "Pronouns", value: "she/her" },
      ],
      source: { privacy: "unlisted", sensitive: true, language: "de" },
    });
    expect(res.status).toBe(200);
    expectEntity("CredentialAccount", res.body);
    expect(res.body).toMatchObject({
      display_name: "Alice A.",
      // Formatted like a post: links shortened the way Mastodon shows them.
      note:
        '<p>Hi &lt;there&gt; &amp; welcome<br>second line</p><p>see <a href="https://example.org/about" target="_blank" rel="nofollow noopener">' +
        '<span class="invisible">https://</span><span class="">example.org/about</span><span class="invisible"></span></a></p>',
      locked: true,
      bot: true,
      discoverable: false,
      indexable: false,
      hide_collections: true,
      fields: [
        {
          name: "Web",
          value:
            '<a href="https://alice.example" target="_blank" rel="nofollow noopener me">https://alice.example</a>',
        },
        { name: "Pronouns", value: "she/her" },
      ],
      source: {
        privacy: "unlisted",
        sensitive: true,
        language: "de",
        note: "Hi <there> & welcome\nsecond line\n\nsee https://example.org/about",
        fields: [
          { name: "Web", value: "https://alice.example" },
          { name: "Pronouns", value: "she/her" },
        ],
      },
    });
    // The change is stored: verify_credentials and preferences show it.
    const again = await api("GET", "/api/v1/accounts/verify_credentials", token);
    expectEntity("CredentialAccount", again.body);
    expect(again.body).toEqual(res.body);
    const prefs = await api("GET", "/api/v1/preferences", token);
    expect(prefs.status).toBe(200);
    expectEntity("Preferences", prefs.body);
    expect(prefs.body).toEqual({
      "posting:default:visibility": "unlisted",
      "posting:default:sensitive": true,
      "posting:default:language": "de",
      "reading:expand:media": "default",
      "reading:expand:spoilers": false,
    });
  });

  it("accepts a form body with Rails-style fields_attributes and leaves the rest unchanged", async () => {
    await update({ display_name: "Kept", note: "kept note" });
    const res = await update(
      new URLSearchParams({
        "fields_attributes[0][name]": "A",
        "fields_attributes[0][value]": "1",
        "fields_attributes[1][name]": "B",
        "fields_attributes[1][value]": "2",
        locked: "1",
        "source[privacy]": "private",
      }),
    );
    expect(res.status).toBe(200);
    expectEntity("CredentialAccount", res.body);
    expect(res.body).toMatchObject({
      display_name: "Kept",
      note: "<p>kept note</p>",
      locked: true,
      fields: [
        { name: "A", value: "1" },
        { name: "B", value: "2" },
      ],
      source: { privacy: "private", sensitive: false, language: null },
    });
  });

  it("takes fields_attributes as a JSON object keyed by index, and PUT like PATCH", async () => {
    const res = await api("PUT", "/api/v1/accounts/update_credentials", token, {
      fields_attributes: { "0": { name: "X", value: "<b>y</b>" }, "1": { name: "", value: "" } },
    });
    expect(res.status).toBe(200);
    expectEntity("CredentialAccount", res.body);
    expect(res.body.fields).toEqual([{ name: "X", value: "&lt;b&gt;y&lt;/b&gt;", verified_at: null }]);
    expect(res.body.source.fields).toEqual([{ name: "X", value: "<b>y</b>", verified_at: null }]);
  });

  it("uploads an avatar and header by multipart, served from R2 and shown in the actor", async () => {
    const f = new FormData();
    f.append("avatar", fileOf(PNG_1x1, "me.png", "image/png"));
    f.append("header", fileOf(GIF_1x1, "bg.gif", "image/gif"));
    f.append("display_name", "With picture");
    const res = await update(f);
    expect(res.status).toBe(200);
    expectEntity("CredentialAccount", res.body);
    expect(res.body.avatar).toMatch(/^https:\/\/social\.example\.com\/media\/profile\/avatar-\d+\.png$/);
    expect(res.body.avatar_static).toBe(res.body.avatar);
    expect(res.body.header).toMatch(/\/media\/profile\/header-\d+\.gif$/);
    const served = await request(res.body.avatar);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG_1x1);
    const actor = (await (await request("/users/alice", { headers: AS_JSON })).json()) as Record<string, any>;
    expect(actor.icon).toEqual({ type: "Image", mediaType: "image/png", url: res.body.avatar });
    expect(actor.image).toEqual({ type: "Image", mediaType: "image/gif", url: res.body.header });

    // A new avatar replaces the old file in R2.
    const g = new FormData();
    g.append("avatar", fileOf(GIF_1x1, "me.gif", "image/gif"));
    const second = await update(g);
    expect(second.status).toBe(200);
    expect((await request(res.body.avatar)).status).toBe(404);
    expect((await env.MEDIA.list()).objects.map((o) => o.key).sort()).toEqual(
      [new URL(second.body.avatar).pathname, new URL(res.body.header).pathname].map((p) => p.slice(7)).sort(),
    );
  });

  it("refuses an avatar that is not an image, and changes nothing", async () => {
    const f = new FormData();
    f.append("avatar", fileOf(new TextEncoder().encode("GIF? no, text"), "me.png", "image/png"));
    f.append("display_name", "Should not stick");
    const res = await update(f);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/Avatar/);
    expect((await env.MEDIA.list()).objects).toEqual([]);
    const [owner] = await rows("SELECT display_name, avatar_url FROM accounts WHERE uri = ?", ACTOR);
    expect(owner).toEqual({ display_name: "alice", avatar_url: null });
  });

  it("refuses an avatar over 8 MB", async () => {
    const big = new Uint8Array(8 * 1024 * 1024 + 10);
    big.set(PNG_1x1);
    const f = new FormData();
    f.append("avatar", fileOf(big, "me.png", "image/png"));
    const res = await update(f);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/8 MB/);
  });

  it.each([
    [{ display_name: "x".repeat(31) }, /display_name/],
    [{ note: "x".repeat(501) }, /note/],
    [{ fields_attributes: [1, 2, 3, 4, 5].map((n) => ({ name: `n${n}`, value: "v" })) }, /fields_attributes/],
    [{ fields_attributes: [{ name: "n", value: "v".repeat(256) }] }, /fields_attributes/],
    [{ source: { privacy: "everyone" } }, /privacy/],
    [{ source: { language: "english" } }, /language/],
  ])("422 for %j", async (body, message) => {
    const res = await update(body);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(message);
  });

  it("needs write:accounts", async () => {
    const res = await update({ display_name: "x" }, await userToken("read"));
    expect(res.status).toBe(403);
    expect(
      (await api("PATCH", "/api/v1/accounts/update_credentials", undefined, { display_name: "x" })).status,
    ).toBe(401);
  });

  it("federates an Update of the actor to the followers", async () => {
    const bob = await createRemoteActor("https://remote.example/users/bob");
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    await process({ id: `${bob.id}#follow`, type: "Follow", actor: bob.id, object: ACTOR });
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const res = await update({
      display_name: "Federated",
      bot: true,
      fields_attributes: [{ name: "K", value: "V" }],
    });
    expect(res.status).toBe(200);
    const sent = deliveries(send);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.inbox).toBe("https://remote.example/inbox"); // the shared inbox
    expect(sent[0]?.activity).toMatchObject({
      type: "Update",
      actor: ACTOR,
      to: ["https://www.w3.org/ns/activitystreams#Public"],
      object: {
        id: ACTOR,
        type: "Service",
        name: "Federated",
        attachment: [{ type: "PropertyValue", name: "K", value: "V" }],
      },
    });
    expect(sent[0]?.activity.proof).toBeDefined();
  });
});

describe("removing the avatar and header", () => {
  it("DELETE /api/v1/profile/avatar and /header go back to the stand-in image", async () => {
    const f = new FormData();
    f.append("avatar", fileOf(PNG_1x1, "me.png", "image/png"));
    f.append("header", fileOf(PNG_1x1, "bg.png", "image/png"));
    const up = await update(f);
    const res = await api("DELETE", "/api/v1/profile/avatar", token);
    expect(res.status).toBe(200);
    expectEntity("CredentialAccount", res.body);
    expect(res.body.avatar).toBe(`${BASE}/avatars/original/missing.png`);
    expect(res.body.header).toBe(up.body.header);
    expect((await request(up.body.avatar)).status).toBe(404);
    const header = await api("DELETE", "/api/v1/profile/header", token);
    expect(header.status).toBe(200);
    expectEntity("CredentialAccount", header.body);
    expect(header.body.header).toBe(`${BASE}/headers/original/missing.png`);
    expect((await env.MEDIA.list()).objects).toEqual([]);
    // Removing again is harmless.
    expect((await api("DELETE", "/api/v1/profile/header", token)).status).toBe(200);
  });
});

describe("preferences", () => {
  it("has Mastodon's defaults before anything is set", async () => {
    const res = await api("GET", "/api/v1/preferences", token);
    expect(res.status).toBe(200);
    expectEntity("Preferences", res.body);
    expect(res.body).toEqual({
      "posting:default:visibility": "public",
      "posting:default:sensitive": false,
      "posting:default:language": null,
      "reading:expand:media": "default",
      "reading:expand:spoilers": false,
    });
    expect((await api("GET", "/api/v1/preferences")).status).toBe(401);
  });
});
