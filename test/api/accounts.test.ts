import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Account } from "../../worker/db/client";
import {
  blocks,
  endorsements,
  mutes,
  featuredTags,
  follows,
  listAccounts,
  lists,
  pins,
  statuses,
  statusTags,
} from "../../worker/db/schema";
import type { Visibility } from "../../worker/db/schema";
import { presentAccounts } from "../../worker/api/entities/account";
import { d1Usage } from "../../worker/db/metered";
import { uris } from "../../worker/federation/uris";
import { newId } from "../../worker/lib/ids";
import { batchOf, followInsertCounts } from "../../worker/services/counters";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { request, testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { owner } from "../helpers/inbox";
import { bearer, userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

describe("verify_credentials", () => {
  it("returns the owner as a valid CredentialAccount with source and role", async () => {
    const token = await userToken("read");
    const res = await request("/api/v1/accounts/verify_credentials", { headers: bearer(token) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expectEntity("CredentialAccount", body);
    expect(body).toMatchObject({
      username: "alice",
      acct: "alice",
      uri: "https://social.example.com/users/alice",
      locked: false,
    });
    expect(body.source).toMatchObject({ privacy: "public", follow_requests_count: 0 });
  });

  it("accepts the narrow profile scope and refuses a token without read access (403)", async () => {
    expect(
      (await request("/api/v1/accounts/verify_credentials", { headers: bearer(await userToken("profile")) }))
        .status,
    ).toBe(200);
    const res = await request("/api/v1/accounts/verify_credentials", {
      headers: bearer(await userToken("write")),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "This action is outside the authorized scopes" });
  });

  it("401 without a token", async () => {
    expect((await request("/api/v1/accounts/verify_credentials")).status).toBe(401);
  });
});

/** Stores a follow row directly (as if accepted over federation). */
/** Stores a follow directly, counted as the inbox counts it. */
async function addFollow(from: Account, to: Account, accepted = true): Promise<string> {
  const id = newId();
  const ctx = testCtx();
  const values = {
    id,
    accountId: from.id,
    targetAccountId: to.id,
    uri: `https://x.example/follows/${id}`,
    accepted,
  };
  await batchOf(ctx, [...followInsertCounts(ctx, values), ctx.db.insert(follows).values(values)]);
  return id;
}

/** Stores a post by the owner directly (the posting service is tested on its own). */
async function ownerPost(
  opts: { visibility?: Visibility; tags?: string[]; inReplyTo?: { uri: string; accountId: string } } = {},
): Promise<string> {
  const ctx = testCtx();
  const me = await owner();
  const id = newId();
  const u = uris(ctx.config);
  await ctx.db.insert(statuses).values({
    id,
    uri: u.status(id),
    url: u.statusUrl(id),
    accountId: me.id,
    local: true,
    visibility: opts.visibility ?? "public",
    content: `<p>post ${id}</p>`,
    audience: { to: [], cc: [] },
    publishedAt: new Date().toISOString(),
    inReplyToUri: opts.inReplyTo?.uri ?? null,
    inReplyToAccountId: opts.inReplyTo?.accountId ?? null,
    tags: (opts.tags ?? []).map((name) => ({ name: `#${name}` })),
  });
  for (const name of opts.tags ?? []) await ctx.db.insert(statusTags).values({ name, statusId: id });
  return id;
}

afterEach(() => restoreFetch());

describe("GET /api/v1/accounts/:id", () => {
  it("serves the owner and remote accounts without a token, as Account entities", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const mine = await api("GET", `/api/v1/accounts/${me.id}`);
    expect(mine.status).toBe(200);
    expectEntity("Account", mine.body);
    expect(mine.body).toMatchObject({ id: me.id, acct: "alice" });
    const theirs = await api("GET", `/api/v1/accounts/${bob.id}`);
    expect(theirs.status).toBe(200);
    expectEntity("Account", theirs.body);
    expect(theirs.body).toMatchObject({ id: bob.id, acct: "bob@remote.example" });
  });

  it("counts followers and posts Perch knows of", async () => {
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    await addFollow(carol, bob);
    await remoteStatus(bob);
    const res = await api("GET", `/api/v1/accounts/${bob.id}`);
    expect(res.body).toMatchObject({ followers_count: 1, following_count: 0, statuses_count: 1 });
  });

  it("404 for an unknown or malformed id, 401 for a bad token, 403 for a token without read", async () => {
    const unknown = await api("GET", "/api/v1/accounts/123456789");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: "Record not found" });
    expect((await api("GET", "/api/v1/accounts/abc")).status).toBe(404);
    const me = await owner();
    expect((await api("GET", `/api/v1/accounts/${me.id}`, "not-a-token")).status).toBe(401);
    expect((await api("GET", `/api/v1/accounts/${me.id}`, await userToken("write"))).status).toBe(403);
  });
});

describe("GET /api/v1/accounts?id[]=", () => {
  it("returns the known accounts in the order asked, skipping unknown ids", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const res = await api("GET", `/api/v1/accounts?id[]=${bob.id}&id[]=99999&id[]=${me.id}`);
    expect(res.status).toBe(200);
    expect(res.body.map((a: { id: string }) => a.id)).toEqual([bob.id, me.id]);
    for (const a of res.body) expectEntity("Account", a);
  });

  it("422 for an id that is not an id", async () => {
    const res = await api("GET", "/api/v1/accounts?id[]=x");
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/id/);
  });
});

describe("GET /api/v1/accounts/lookup", () => {
  it("finds the owner by local handle and by full handle, and known remote accounts", async () => {
    const bob = await remoteAccount("bob");
    for (const acct of ["alice", "alice@example.com", "@ALICE"]) {
      const res = await api("GET", `/api/v1/accounts/lookup?acct=${encodeURIComponent(acct)}`);
      expect(res.status, acct).toBe(200);
      expectEntity("Account", res.body);
      expect(res.body.acct).toBe("alice");
    }
    const res = await api("GET", "/api/v1/accounts/lookup?acct=Bob@remote.example");
    expect(res.status).toBe(200);
    expectEntity("Account", res.body);
    expect(res.body.id).toBe(bob.id);
  });

  it("resolves an unknown remote handle by WebFinger for the owner only", async () => {
    const actor = "https://far.example/users/zed";
    const mock = mockFetch({
      "https://far.example/.well-known/webfinger?resource=acct%3Azed%40far.example": new Response(
        JSON.stringify({
          subject: "acct:zed@far.example",
          links: [{ rel: "self", type: "application/activity+json", href: actor }],
        }),
        { headers: { "content-type": "application/jrd+json" } },
      ),
      [actor]: () =>
        activityJson({
          "@context": "https://www.w3.org/ns/activitystreams",
          id: actor,
          type: "Person",
          preferredUsername: "zed",
          inbox: `${actor}/inbox`,
        }),
    });
    const anonymous = await api("GET", "/api/v1/accounts/lookup?acct=zed@far.example");
    expect(anonymous.status).toBe(404);
    expect(mock.calls).toHaveLength(0);
    const token = await userToken("read:accounts");
    const res = await api("GET", "/api/v1/accounts/lookup?acct=zed@far.example", token);
    expect(res.status).toBe(200);
    expectEntity("Account", res.body);
    expect(res.body).toMatchObject({ acct: "zed@far.example", uri: actor });
  });

  it("404 for unknown handles, 422 without acct", async () => {
    mockFetch({});
    expect((await api("GET", "/api/v1/accounts/lookup?acct=nobody")).status).toBe(404);
    expect((await api("GET", "/api/v1/accounts/lookup?acct=nobody@nowhere.example")).status).toBe(404);
    const missing = await api("GET", "/api/v1/accounts/lookup");
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatch(/acct/);
  });
});

describe("GET /api/v1/accounts/:id/statuses", () => {
  it("shows public readers only public and unlisted posts, and the owner everything of their own", async () => {
    const me = await owner();
    const pub = await ownerPost({ visibility: "public" });
    const unl = await ownerPost({ visibility: "unlisted" });
    const priv = await ownerPost({ visibility: "private" });
    const dm = await ownerPost({ visibility: "direct" });
    const anon = await api("GET", `/api/v1/accounts/${me.id}/statuses`);
    expect(anon.status).toBe(200);
    expect(anon.body.map((s: { id: string }) => s.id)).toEqual([unl, pub]);
    for (const s of anon.body) expectEntity("Status", s);
    const token = await userToken("read");
    const mine = await api("GET", `/api/v1/accounts/${me.id}/statuses`, token);
    expect(mine.body.map((s: { id: string }) => s.id)).toEqual([dm, priv, unl, pub]);
    for (const s of mine.body) expectEntity("Status", s);
  });

  it("shows the owner others' followers-only posts only when following, and DMs that mention them", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const pub = await remoteStatus(bob);
    const priv = await remoteStatus(bob, { visibility: "private" });
    const dmToMe = await remoteStatus(bob, { visibility: "direct", mentions: [me.uri] });
    await remoteStatus(bob, { visibility: "direct", mentions: ["https://remote.example/users/other"] });
    const token = await userToken("read:statuses");
    let res = await api("GET", `/api/v1/accounts/${bob.id}/statuses`, token);
    expect(res.body.map((s: { id: string }) => s.id)).toEqual([dmToMe.id, pub.id]);
    await addFollow(me, bob);
    res = await api("GET", `/api/v1/accounts/${bob.id}/statuses`, token);
    expect(res.body.map((s: { id: string }) => s.id)).toEqual([dmToMe.id, priv.id, pub.id]);
    for (const s of res.body) expectEntity("Status", s);
    const anon = await api("GET", `/api/v1/accounts/${bob.id}/statuses`);
    expect(anon.body.map((s: { id: string }) => s.id)).toEqual([pub.id]);
  });

  it("filters replies, tags and pins, and pages with a Link header", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const root = await ownerPost({ tags: ["cats"] });
    const selfReply = await ownerPost({
      inReplyTo: { uri: uris(testCtx().config).status(root), accountId: me.id },
    });
    const reply = await ownerPost({ inReplyTo: { uri: `${bob.uri}/statuses/1`, accountId: bob.id } });
    const last = await ownerPost({ tags: ["dogs"] });
    const base = `/api/v1/accounts/${me.id}/statuses`;
    const ids = async (q: string) => {
      const res = await api("GET", `${base}?${q}`);
      expect(res.status).toBe(200);
      for (const s of res.body) expectEntity("Status", s);
      return res.body.map((s: { id: string }) => s.id);
    };
    expect(await ids("exclude_replies=true")).toEqual([last, selfReply, root]);
    expect(await ids("tagged=Cats")).toEqual([root]);
    expect(await ids("tagged=%23dogs")).toEqual([last]);
    expect(await ids("only_media=true")).toEqual([]);
    await testCtx().db.insert(pins).values({ accountId: me.id, statusId: reply });
    expect(await ids("pinned=true")).toEqual([reply]);
    expect(await ids(`pinned=true&max_id=${reply}`)).toEqual([]);

    const page = await api("GET", `${base}?limit=2`);
    expect(page.body.map((s: { id: string }) => s.id)).toEqual([last, reply]);
    const link = page.headers.get("link") ?? "";
    expect(link).toContain(`max_id=${reply}`);
    expect(link).toContain(`min_id=${last}`);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1] as string;
    const older = await api("GET", next.replace("https://social.example.com", ""));
    expect(older.body.map((s: { id: string }) => s.id)).toEqual([selfReply, root]);
    const newer = await api("GET", `${base}?min_id=${selfReply}&limit=1`);
    expect(newer.body.map((s: { id: string }) => s.id)).toEqual([reply]);
  });

  it("leaves out deleted posts and answers 404 for unknown accounts, 400 for a bad max_id", async () => {
    const me = await owner();
    const id = await ownerPost();
    await testCtx().db.update(statuses).set({ deletedAt: new Date().toISOString() }).where(eqId(id));
    expect((await api("GET", `/api/v1/accounts/${me.id}/statuses`)).body).toEqual([]);
    expect((await api("GET", "/api/v1/accounts/42/statuses")).status).toBe(404);
    expect((await api("GET", `/api/v1/accounts/${me.id}/statuses?max_id=abc`)).status).toBe(400);
  });
});

function eqId(id: string) {
  return eq(statuses.id, id);
}

describe("followers and following", () => {
  it("lists accepted follows newest first, paged by follow with a Link header", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    const dan = await remoteAccount("dan", "other.example");
    await addFollow(bob, me);
    const second = await addFollow(carol, me);
    await addFollow(dan, me, false); // a pending request is not a follower
    await addFollow(me, dan);
    const res = await api("GET", `/api/v1/accounts/${me.id}/followers?limit=1`);
    expect(res.status).toBe(200);
    expect(res.body.map((a: { id: string }) => a.id)).toEqual([carol.id]);
    for (const a of res.body) expectEntity("Account", a);
    expect(res.headers.get("link")).toContain(`max_id=${second}`);
    const rest = await api("GET", `/api/v1/accounts/${me.id}/followers?max_id=${second}`);
    expect(rest.body.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    const following = await api("GET", `/api/v1/accounts/${me.id}/following`);
    expect(following.body.map((a: { id: string }) => a.id)).toEqual([dan.id]);
    for (const a of following.body) expectEntity("Account", a);
    const ofBob = await api("GET", `/api/v1/accounts/${bob.id}/following`);
    expect(ofBob.body.map((a: { id: string }) => a.id)).toEqual([me.id]);
    expect((await api("GET", "/api/v1/accounts/1/followers")).status).toBe(404);
  });
});

describe("GET /api/v1/accounts/search", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken("read");
  });

  it("matches username, display name and domain, followed accounts first", async () => {
    const me = await owner();
    await remoteAccount("bobby", "remote.example", { name: "Robert" });
    const bob2 = await remoteAccount("bob", "other.example");
    await remoteAccount("carol", "remote.example", { name: "Carol Bobsworth" });
    await addFollow(me, bob2);
    const res = await api("GET", "/api/v1/accounts/search?q=bob", token);
    expect(res.status).toBe(200);
    for (const a of res.body) expectEntity("Account", a);
    expect(res.body.map((a: { acct: string }) => a.acct)).toEqual([
      "bob@other.example",
      "bobby@remote.example",
      "carol@remote.example",
    ]);
    const following = await api("GET", "/api/v1/accounts/search?q=bob&following=true", token);
    expect(following.body.map((a: { acct: string }) => a.acct)).toEqual(["bob@other.example"]);
    const handle = await api("GET", "/api/v1/accounts/search?q=@bob@other", token);
    expect(handle.body.map((a: { acct: string }) => a.acct)).toEqual(["bob@other.example"]);
    const page = await api("GET", "/api/v1/accounts/search?q=bob&limit=1&offset=1", token);
    expect(page.body.map((a: { acct: string }) => a.acct)).toEqual(["bobby@remote.example"]);
    expect(page.headers.get("link")).toContain("offset=2");
    expect((await api("GET", "/api/v1/accounts/search?q=%25", token)).body).toEqual([]);
  });

  it("does not offer blocked accounts, as the search API does not; muted ones it does", async () => {
    const me = await owner();
    const blocked = await remoteAccount("bobby", "remote.example");
    const muted = await remoteAccount("bob", "other.example");
    await testCtx().db.insert(blocks).values({ accountId: me.id, targetAccountId: blocked.id });
    await testCtx().db.insert(mutes).values({ targetAccountId: muted.id, id: newId() });
    const res = await api("GET", "/api/v1/accounts/search?q=bob", token);
    expect(res.body.map((a: { acct: string }) => a.acct)).toEqual(["bob@other.example"]);
    const v2 = await api("GET", "/api/v2/search?q=bob&type=accounts", token);
    expect(v2.body.accounts.map((a: { acct: string }) => a.acct)).toEqual(["bob@other.example"]);
  });

  it("resolves a handle by WebFinger only when asked", async () => {
    const actor = "https://far.example/users/zed";
    const mock = mockFetch({
      "https://far.example/.well-known/webfinger?resource=acct%3Azed%40far.example": new Response(
        JSON.stringify({
          subject: "acct:zed@far.example",
          links: [{ rel: "self", type: "application/activity+json", href: actor }],
        }),
        { headers: { "content-type": "application/jrd+json" } },
      ),
      [actor]: () =>
        activityJson({
          "@context": "https://www.w3.org/ns/activitystreams",
          id: actor,
          type: "Person",
          preferredUsername: "zed",
          inbox: `${actor}/inbox`,
        }),
    });
    expect((await api("GET", "/api/v1/accounts/search?q=zed@far.example", token)).body).toEqual([]);
    expect(mock.calls).toHaveLength(0);
    const res = await api("GET", "/api/v1/accounts/search?q=zed@far.example&resolve=true", token);
    expect(res.body).toHaveLength(1);
    expectEntity("Account", res.body[0]);
    expect(res.body[0].uri).toBe(actor);
  });

  it("422 without q", async () => {
    const res = await api("GET", "/api/v1/accounts/search", token);
    expect(res.status).toBe(422);
  });
});

describe("familiar_followers, featured_tags, lists, identity_proofs", () => {
  it("familiar followers are followed accounts that follow each account", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    const dan = await remoteAccount("dan");
    await addFollow(me, carol);
    await addFollow(carol, bob);
    await addFollow(dan, bob); // not followed by the owner
    const token = await userToken("read:follows");
    const res = await api("GET", `/api/v1/accounts/familiar_followers?id[]=${bob.id}&id[]=${dan.id}`, token);
    expect(res.status).toBe(200);
    for (const f of res.body) {
      expectEntity("FamiliarFollowers", f);
      for (const a of f.accounts) expectEntity("Account", a);
    }
    expect(res.body.map((f: any) => [f.id, f.accounts.map((a: any) => a.id)])).toEqual([
      [bob.id, [carol.id]],
      [dan.id, []],
    ]);
    expect((await api("GET", "/api/v1/accounts/familiar_followers?id[]=1")).status).toBe(401);
    expect(
      (await api("GET", "/api/v1/accounts/familiar_followers?id[]=1", await userToken("read:statuses")))
        .status,
    ).toBe(403);
  });

  it("featured tags of the owner, none for remote accounts", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    await ownerPost({ tags: ["cats"] });
    await testCtx().db.insert(featuredTags).values({ id: newId(), name: "cats" });
    const res = await api("GET", `/api/v1/accounts/${me.id}/featured_tags`);
    expect(res.status).toBe(200);
    for (const t of res.body) expectEntity("FeaturedTag", t);
    expect(res.body).toMatchObject([
      { name: "cats", statuses_count: "1", url: "https://social.example.com/@alice/tagged/cats" },
    ]);
    expect((await api("GET", `/api/v1/accounts/${bob.id}/featured_tags`)).body).toEqual([]);
  });

  it("lists containing an account, and identity proofs as []", async () => {
    const bob = await remoteAccount("bob");
    const listId = newId();
    await testCtx().db.insert(lists).values({ id: listId, title: "Friends" });
    await testCtx().db.insert(listAccounts).values({ listId, accountId: bob.id });
    const token = await userToken("read");
    const res = await api("GET", `/api/v1/accounts/${bob.id}/lists`, token);
    expect(res.status).toBe(200);
    for (const l of res.body) expectEntity("List", l);
    expect(res.body).toEqual([{ id: listId, title: "Friends", replies_policy: "list", exclusive: false }]);
    expect((await api("GET", `/api/v1/accounts/${bob.id}/lists`)).status).toBe(401);
    const proofs = await api("GET", `/api/v1/accounts/${bob.id}/identity_proofs`, token);
    expect(proofs).toMatchObject({ status: 200, body: [] });
  });
});

describe("endorsements of an account and blocked_by", () => {
  it("lists the owner's endorsed accounts publicly, none for remote accounts", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    await testCtx().db.insert(endorsements).values({ targetAccountId: bob.id, id: newId() });
    const res = await api("GET", `/api/v1/accounts/${me.id}/endorsements`);
    expect(res.status).toBe(200);
    for (const a of res.body) expectEntity("Account", a);
    expect(res.body.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    expect((await api("GET", `/api/v1/accounts/${bob.id}/endorsements`)).body).toEqual([]);
  });

  it("an account that blocks the owner shows the owner no posts", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const post = await remoteStatus(bob);
    const token = await userToken("read");
    expect(
      (await api("GET", `/api/v1/accounts/${bob.id}/statuses`, token)).body.map((s: any) => s.id),
    ).toEqual([post.id]);
    await testCtx().db.insert(blocks).values({ accountId: bob.id, targetAccountId: me.id });
    expect((await api("GET", `/api/v1/accounts/${bob.id}/statuses`, token)).body).toEqual([]);
  });
});

describe("boosts on an account's page", () => {
  it("keeps boosts with exclude_replies and hides boosts of muted accounts from the owner", async () => {
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    const original = await remoteStatus(carol);
    const own = await remoteStatus(bob);
    const boostId = newId();
    await testCtx()
      .db.insert(statuses)
      .values({
        id: boostId,
        uri: `${bob.uri}/statuses/boost1/activity`,
        accountId: bob.id,
        visibility: "public",
        reblogOfId: original.id,
        audience: { to: [], cc: [] },
        publishedAt: new Date().toISOString(),
      });
    const token = await userToken("read");
    const ids = async (q = "") => {
      const res = await api("GET", `/api/v1/accounts/${bob.id}/statuses${q}`, token);
      expect(res.status).toBe(200);
      for (const s of res.body) expectEntity("Status", s);
      return res.body.map((s: { id: string }) => s.id);
    };
    expect(await ids("?exclude_replies=true")).toEqual([boostId, own.id]);
    expect(await ids("?exclude_reblogs=true")).toEqual([own.id]);
    await testCtx().db.insert(mutes).values({ targetAccountId: carol.id, id: newId() });
    expect(await ids()).toEqual([own.id]);
    // Anyone else still sees the boost.
    const anon = await api("GET", `/api/v1/accounts/${bob.id}/statuses`);
    expect(anon.body.map((s: { id: string }) => s.id)).toEqual([boostId, own.id]);
  });
});

describe("accounts that moved", () => {
  it("show the stored account they moved to as `moved`, a valid Account, in accounts and statuses", async () => {
    const target = await remoteAccount("bob", "new.example");
    const old = await remoteAccount("bob", "old.example", { movedTo: target.uri });
    const res = await api("GET", `/api/v1/accounts/${old.id}`);
    expect(res.status).toBe(200);
    expectEntity("Account", res.body);
    expect(res.body.moved).toMatchObject({ id: target.id, acct: "bob@new.example", uri: target.uri });
    expectEntity("Account", res.body.moved);
    // The target is not given a `moved` of its own, and an account that did not move has none.
    expect(res.body.moved).not.toHaveProperty("moved");
    expect((await api("GET", `/api/v1/accounts/${target.id}`)).body).not.toHaveProperty("moved");

    const post = await remoteStatus(old, { content: "<p>before the move</p>" });
    const shown = await api("GET", `/api/v1/statuses/${post.id}`);
    expectEntity("Status", shown.body);
    expect(shown.body.account.moved).toMatchObject({ id: target.id, acct: "bob@new.example" });
  });

  it("leave `moved` out when the account they moved to is not stored", async () => {
    const gone = await remoteAccount("carl", "old.example", {
      movedTo: "https://unknown.example/users/carl",
    });
    const res = await api("GET", `/api/v1/accounts/${gone.id}`);
    expect(res.status).toBe(200);
    expectEntity("Account", res.body);
    expect(res.body).not.toHaveProperty("moved");
  });

  it("load their targets in the same number of queries for three moved accounts as for thirty", async () => {
    const queriesFor = async (n: number, prefix: string) => {
      const list: Account[] = [];
      for (let i = 0; i < n; i++) {
        const target = await remoteAccount(`${prefix}${i}`, "new.example");
        list.push(await remoteAccount(`${prefix}${i}`, "old.example", { movedTo: target.uri }));
      }
      const before = d1Usage.queries;
      const presented = await presentAccounts(testCtx(), list);
      const used = d1Usage.queries - before;
      for (const a of list) expect(presented.get(a.id)?.moved?.acct).toBe(`${a.username}@new.example`);
      return used;
    };
    const few = await queriesFor(3, "few");
    const many = await queriesFor(30, "many");
    expect(many).toBe(few);
  });
});
