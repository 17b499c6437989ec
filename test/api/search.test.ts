import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createApp } from "../../worker/app";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { owner } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { createRemoteActor } from "../helpers/remote-actor";
import { publishNote } from "../../worker/services/post-publish";

let token: string;
beforeEach(async () => {
  token = await userToken("read write");
});
afterEach(() => restoreFetch());

/** Searches with the test's user token, another token, or `null` for none. */
async function search(params: Record<string, string>, t: string | null = token) {
  const res = await api("GET", `/api/v2/search?${new URLSearchParams(params)}`, t ?? undefined);
  if (res.status === 200) {
    expectEntity("Search", res.body);
    for (const a of res.body.accounts) expectEntity("Account", a);
    for (const s of res.body.statuses) expectEntity("Status", s);
    for (const h of res.body.hashtags) expectEntity("Tag", h);
  }
  return res;
}

describe("searching accounts", () => {
  it("finds stored accounts by username, display name and domain, the exact handle first", async () => {
    await remoteAccount("bobby", "remote.example");
    await remoteAccount("bob", "other.example");
    await remoteAccount("rob", "remote.example", { name: "Bob's friend" });
    await remoteAccount("zed", "bobhost.example");
    const res = await search({ q: "bob", type: "accounts" });
    expect(res.status).toBe(200);
    expect(res.body.accounts.map((a: { acct: string }) => a.acct)).toEqual([
      "bob@other.example",
      "bobby@remote.example",
      "rob@remote.example",
      "zed@bobhost.example",
    ]);
    expect(res.body.statuses).toEqual([]);
    expect(res.body.hashtags).toEqual([]);
    const exact = await search({ q: "@bobby@remote.example", type: "accounts" });
    expect(exact.body.accounts.map((a: { acct: string }) => a.acct)).toEqual(["bobby@remote.example"]);
  });

  it("treats % and _ literally", async () => {
    await remoteAccount("a_b");
    await remoteAccount("axb");
    expect(
      (await search({ q: "a_b", type: "accounts" })).body.accounts.map((a: { acct: string }) => a.acct),
    ).toEqual(["a_b@remote.example"]);
    expect((await search({ q: "%", type: "accounts" })).body.accounts).toEqual([]);
  });

  it("finds the owner, pages with limit and offset, and filters to followed accounts", async () => {
    for (const n of ["al1", "al2", "al3"]) await remoteAccount(n);
    const first = await search({ q: "al", type: "accounts", limit: "2" });
    expect(first.body.accounts).toHaveLength(2);
    const second = await search({ q: "al", type: "accounts", limit: "2", offset: "2" });
    expect(second.body.accounts).toHaveLength(2);
    const all = [...first.body.accounts, ...second.body.accounts].map((a: { acct: string }) => a.acct);
    expect(new Set(all)).toEqual(
      new Set(["alice", "al1@remote.example", "al2@remote.example", "al3@remote.example"]),
    );
    expect((await search({ q: "alice", type: "accounts" })).body.accounts[0].acct).toBe("alice");
    expect((await search({ q: "al", type: "accounts", following: "true" })).body.accounts).toEqual([]);
  });
});

describe("resolving remote accounts and posts", () => {
  const WF = "https://remote.example/.well-known/webfinger?resource=acct%3Adave%40remote.example";

  async function dave() {
    const actor = await createRemoteActor("https://remote.example/users/dave");
    const jrd = new Response(
      JSON.stringify({
        subject: "acct:dave@remote.example",
        links: [{ rel: "self", type: "application/activity+json", href: actor.id }],
      }),
      { headers: { "content-type": "application/jrd+json" } },
    );
    return { actor, jrd };
  }

  it("resolve=true looks a handle up by WebFinger and stores the actor", async () => {
    const { actor, jrd } = await dave();
    const mock = mockFetch({ [WF]: jrd, [actor.id]: () => activityJson(actor.document) });
    const res = await search({ q: "@dave@remote.example", resolve: "true" });
    expect(res.status).toBe(200);
    expect(res.body.accounts).toHaveLength(1);
    expect(res.body.accounts[0]).toMatchObject({ acct: "dave@remote.example", username: "dave" });
    expect(mock.calls.map((r) => r.url)).toContain(WF);
    // Stored now: found without resolving.
    restoreFetch();
    const stored = await search({ q: "dave@remote.example" });
    expect(stored.body.accounts.map((a: { acct: string }) => a.acct)).toEqual(["dave@remote.example"]);
  });

  it("makes no request without resolve, and refuses resolve without a user token", async () => {
    const { actor, jrd } = await dave();
    const mock = mockFetch({ [WF]: jrd, [actor.id]: () => activityJson(actor.document) });
    const res = await search({ q: "dave@remote.example" });
    expect(res.status).toBe(200);
    expect(res.body.accounts).toEqual([]);
    const anon = await search({ q: "dave@remote.example", resolve: "true" }, null);
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ error: expect.stringMatching(/authentication/) });
    expect(mock.calls).toEqual([]);
  });

  it("an unknown handle resolves to nothing, not an error", async () => {
    mockFetch({});
    const res = await search({ q: "@nobody@remote.example", resolve: "true" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accounts: [], statuses: [] });
  });

  it("resolve=true with a post's URL fetches the post", async () => {
    const { actor } = await dave();
    const note = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: "https://remote.example/users/dave/statuses/1",
      type: "Note",
      attributedTo: actor.id,
      content: "<p>a fetched post</p>",
      published: "2026-01-01T00:00:00Z",
      to: ["https://www.w3.org/ns/activitystreams#Public"],
      cc: [],
    };
    mockFetch({ [note.id]: () => activityJson(note), [actor.id]: () => activityJson(actor.document) });
    const res = await search({ q: note.id, resolve: "1" });
    expect(res.status).toBe(200);
    expect(res.body.accounts).toEqual([]);
    expect(res.body.statuses).toHaveLength(1);
    expect(res.body.statuses[0]).toMatchObject({ uri: note.id, content: "<p>a fetched post</p>" });
    // A stored account's URL is found without resolving.
    restoreFetch();
    const byUrl = await search({ q: actor.id });
    expect(byUrl.body.accounts.map((a: { acct: string }) => a.acct)).toEqual(["dave@remote.example"]);
  });
});

describe("resolving by URL in loopback federation mode", () => {
  const LOOPBACK = {
    ...env,
    WEB_DOMAIN: "127.0.0.1:8911",
    ACCOUNT_DOMAIN: "127.0.0.1:8911",
    ALLOW_LOOPBACK_FEDERATION: "true",
  };
  const app = createApp();
  /** A search through the Worker running as a loopback test instance (http://127.0.0.1:8911). */
  async function loopbackSearch(params: Record<string, string>) {
    const execution = createExecutionContext();
    const res = await app.fetch(
      new Request(`http://127.0.0.1:8911/api/v2/search?${new URLSearchParams(params)}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
      LOOPBACK,
      execution,
    );
    await waitOnExecutionContext(execution);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it("resolve=true finds the account of an http:// actor URL of another local instance", async () => {
    const actor = await createRemoteActor("http://127.0.0.1:8912/users/bob");
    const mock = mockFetch({ [actor.id]: () => activityJson(actor.document) });
    const res = await loopbackSearch({ q: actor.id, resolve: "true", type: "accounts" });
    expect(res.status).toBe(200);
    expectEntity("Search", res.body);
    expect(res.body.accounts.map((a: { uri: string }) => a.uri)).toEqual([actor.id]);
    expect(mock.calls.map((r) => r.url)).toContain(actor.id);
  });

  it("outside loopback mode an http:// URL is not fetched", async () => {
    const actor = await createRemoteActor("http://127.0.0.1:8912/users/bob");
    const mock = mockFetch({ [actor.id]: () => activityJson(actor.document) });
    const res = await search({ q: actor.id, resolve: "true" });
    expect(res.status).toBe(200);
    expect(res.body.accounts).toEqual([]);
    expect(mock.calls).toEqual([]);
  });
});

/** Authors who allow search (toot:indexable), as Mastodon requires for others' posts. */
const author = (name: string, host = "remote.example") => remoteAccount(name, host, { indexable: true });

describe("searching statuses", () => {
  it("finds words in text, content warnings and media descriptions, newest first", async () => {
    const bob = await author("bob");
    const a = await remoteStatus(bob, { content: "<p>The quick brown <b>fox</b> &amp; friends</p>" });
    const b = await remoteStatus(bob, {
      content: "<p>nothing here</p>",
      extra: {
        summary: "fox warning",
        attachment: [
          { type: "Document", mediaType: "image/png", url: "https://remote.example/a.png", name: "a sunset" },
        ],
      },
    });
    const fox = await search({ q: "fox", type: "statuses" });
    expect(fox.status).toBe(200);
    expect(fox.body.statuses.map((s: { id: string }) => s.id)).toEqual([b.id, a.id]);
    expect(
      (await search({ q: "quick FOX", type: "statuses" })).body.statuses.map((s: { id: string }) => s.id),
    ).toEqual([a.id]);
    expect(
      (await search({ q: "sunset", type: "statuses" })).body.statuses.map((s: { id: string }) => s.id),
    ).toEqual([b.id]);
    expect((await search({ q: "friends", type: "statuses", max_id: a.id })).body.statuses).toEqual([]);
    expect((await search({ q: "fox", type: "statuses", min_id: a.id })).body.statuses).toHaveLength(1);
    expect((await search({ q: "fox", type: "statuses", limit: "1", offset: "1" })).body.statuses[0].id).toBe(
      a.id,
    );
  });

  it.each([
    '"',
    "*",
    'fox"',
    "fox*",
    "AND",
    "NOT fox",
    "(fox",
    "fox OR",
    "^fox",
    "-fox",
    "col:fox",
    "NEAR(fox)",
    "''",
  ])("never fails on FTS syntax in %j", async (q) => {
    const bob = await author("bob");
    await remoteStatus(bob, { content: "<p>a fox</p>" });
    const res = await search({ q, type: "statuses" });
    expect(res.status).toBe(200);
  });

  it("leaves out deleted posts, boosts and posts the owner may not see", async () => {
    const bob = await author("bob");
    const carol = await author("carol", "other.example");
    const kept = await remoteStatus(bob, { content: "<p>zebra public</p>" });
    const gone = await remoteStatus(bob, { content: "<p>zebra deleted</p>" });
    await env.DB.prepare("UPDATE statuses SET deleted_at = '2026-01-01T00:00:00Z' WHERE id = ?")
      .bind(gone.id)
      .run();
    await remoteStatus(carol, { content: "<p>zebra for followers only</p>", visibility: "private" });
    const me = await owner();
    const toMe = await remoteStatus(carol, {
      content: "<p>zebra direct</p>",
      visibility: "direct",
      mentions: [me.uri],
    });
    const hidden = await remoteAccount("hidden", "remote.example", { indexable: false });
    await remoteStatus(hidden, { content: "<p>zebra not indexable</p>" });
    const res = await search({ q: "zebra", type: "statuses" });
    expect(res.body.statuses.map((s: { id: string }) => s.id).sort()).toEqual([kept.id, toMe.id].sort());
    // Followers-only posts appear once the owner follows their author.
    await env.DB.prepare(
      "INSERT INTO follows (id, account_id, target_account_id, uri, accepted) VALUES ('9', ?, ?, 'x:f', 1)",
    )
      .bind(me.id, carol.id)
      .run();
    expect((await search({ q: "zebra", type: "statuses" })).body.statuses).toHaveLength(3);
    expect(
      (await search({ q: "zebra", type: "statuses", account_id: bob.id })).body.statuses.map(
        (s: { id: string }) => s.id,
      ),
    ).toEqual([kept.id]);
  });

  it("finds edited posts by their new text only", async () => {
    const bob = await author("bob");
    const s = await remoteStatus(bob, { content: "<p>original wording</p>" });
    expect((await search({ q: "original", type: "statuses" })).body.statuses).toHaveLength(1);
    // A remote edit (as updateRemoteNote stores it) and a local one.
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO status_edits (id, status_id, content, created_at) VALUES ('99999999999999999', ?, '<p>original wording</p>', '2026-01-01')",
      ).bind(s.id),
      env.DB.prepare(
        "UPDATE statuses SET content = '<p>revised wording</p>', edited_at = '2026-01-02T00:00:00Z' WHERE id = ?",
      ).bind(s.id),
    ]);
    const mine = await publishNote(testCtx(), { text: "my first draft", visibility: "public" });
    expect((await search({ q: "draft", type: "statuses" })).body.statuses).toHaveLength(1);
    await env.DB.prepare("UPDATE statuses SET content = '<p>my final text</p>', edited_at = ? WHERE id = ?")
      .bind(new Date(Date.now() + 1000).toISOString(), mine.id)
      .run();
    expect((await search({ q: "original", type: "statuses" })).body.statuses).toEqual([]);
    expect(
      (await search({ q: "revised", type: "statuses" })).body.statuses.map((x: { id: string }) => x.id),
    ).toEqual([s.id]);
    expect((await search({ q: "draft", type: "statuses" })).body.statuses).toEqual([]);
    expect(
      (await search({ q: "final", type: "statuses" })).body.statuses.map((x: { id: string }) => x.id),
    ).toEqual([mine.id]);
  });

  it("finds no statuses without a user token", async () => {
    const bob = await author("bob");
    await remoteStatus(bob, { content: "<p>public words</p>" });
    const res = await search({ q: "words" }, null);
    expect(res.status).toBe(200);
    expect(res.body.statuses).toEqual([]);
  });
});

describe("searching hashtags", () => {
  it("offers used and followed tags by prefix, and not the typed word when no post has it", async () => {
    const bob = await remoteAccount("bob");
    await remoteStatus(bob, { tags: ["caturday", "cats"] });
    await remoteStatus(bob, { tags: ["cats"] });
    await env.DB.prepare("INSERT INTO followed_tags (name, id) VALUES ('catsofmastodon', '1')").run();
    const res = await search({ q: "#cat", type: "hashtags" });
    expect(res.status).toBe(200);
    expect(res.body.hashtags.map((h: { name: string }) => h.name)).toEqual([
      "cats",
      "catsofmastodon",
      "caturday",
    ]);
    expect(res.body.hashtags[1].following).toBe(true);
    expect(res.body.accounts).toEqual([]);
    expect(
      (await search({ q: "cat", type: "hashtags", limit: "2", offset: "1" })).body.hashtags.map(
        (h: { name: string }) => h.name,
      ),
    ).toEqual(["catsofmastodon", "caturday"]);
    expect((await search({ q: "#!!", type: "hashtags" })).body.hashtags).toEqual([]);
    expect((await search({ q: "dogs", type: "hashtags" })).body.hashtags).toEqual([]);
    // Anonymous: no followed tags, and no following/featuring flags.
    const anon = await search({ q: "cat", type: "hashtags" }, null);
    expect(anon.body.hashtags.map((h: { name: string }) => h.name)).toEqual(["cats", "caturday"]);
    expect(anon.body.hashtags[0]).not.toHaveProperty("following");
  });

  it("puts the exact tag first when it exists, whether used, followed or featured", async () => {
    const bob = await remoteAccount("bob");
    await remoteStatus(bob, { tags: ["catalog", "cats"] });
    expect(
      (await search({ q: "cat", type: "hashtags" })).body.hashtags.map((h: { name: string }) => h.name),
    ).toEqual(["catalog", "cats"]);
    await env.DB.prepare("INSERT INTO featured_tags (id, name) VALUES ('1', 'cat')").run();
    const featured = await search({ q: "Cat", type: "hashtags" }, null);
    expect(featured.body.hashtags.map((h: { name: string }) => h.name)).toEqual(["cat", "catalog", "cats"]);
    await env.DB.prepare("DELETE FROM featured_tags").run();
    await env.DB.prepare("INSERT INTO followed_tags (name, id) VALUES ('cats', '1')").run();
    expect(
      (await search({ q: "#cats", type: "hashtags" })).body.hashtags.map((h: { name: string }) => h.name),
    ).toEqual(["cats"]);
  });

  it("offers no made-up tag beside the people a word finds, and no people for a #tag", async () => {
    await remoteAccount("kim", "remote.example");
    const res = await search({ q: "kim" });
    expect(res.body.accounts.map((a: { acct: string }) => a.acct)).toEqual(["kim@remote.example"]);
    expect(res.body.hashtags).toEqual([]);
    const bob = await remoteAccount("bob");
    await remoteStatus(bob, { tags: ["kim"] });
    const both = await search({ q: "kim" });
    expect(both.body.accounts).toHaveLength(1);
    expect(both.body.hashtags.map((h: { name: string }) => h.name)).toEqual(["kim"]);
    const tagOnly = await search({ q: "#kim" });
    expect(tagOnly.body.accounts).toEqual([]);
    expect(tagOnly.body.hashtags.map((h: { name: string }) => h.name)).toEqual(["kim"]);
    // A handle is not a hashtag.
    expect((await search({ q: "kim@remote.example" })).body.hashtags).toEqual([]);
  });
});

describe("the search request", () => {
  it("searches every type at once, with or without a token", async () => {
    const bob = await remoteAccount("tea", "remote.example", { indexable: true });
    await remoteStatus(bob, { content: "<p>tea time</p>", tags: ["tea"] });
    const res = await search({ q: "tea" });
    expect(res.body.accounts).toHaveLength(1);
    expect(res.body.statuses).toHaveLength(1);
    expect(res.body.hashtags.map((h: { name: string }) => h.name)).toEqual(["tea"]);
    // Without a type, offset is ignored, as Mastodon does.
    expect((await search({ q: "tea", offset: "1" })).body.accounts).toHaveLength(1);
    const anon = await search({ q: "tea" }, null);
    expect(anon.status).toBe(200);
    expect(anon.body.accounts).toHaveLength(1);
  });

  it("400 without q, 422 for a bad type, 401 for a bad token, 403 without read:search", async () => {
    expect((await search({})).status).toBe(400);
    expect((await search({ q: "x", type: "people" })).status).toBe(422);
    expect((await search({ q: "x" }, "not-a-token")).status).toBe(401);
    expect((await search({ q: "x" }, await userToken("write"))).status).toBe(403);
    expect((await search({ q: "x", offset: "5" }, null)).status).toBe(401);
  });
});
