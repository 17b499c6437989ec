import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Account } from "../../worker/db/client";
import { follows, mutes, statuses, statusTags } from "../../worker/db/schema";
import { uris } from "../../worker/federation/uris";
import { newId } from "../../worker/lib/ids";
import { api, remoteAccount } from "../helpers/api";
import { ACTOR, testCtx } from "../helpers/app";
import { owner, process, rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { queuedDeliveries } from "../helpers/deliveries";

let token: string;
let bob: Account;
let send: ReturnType<typeof vi.spyOn>;

beforeEach(async () => {
  token = await userToken("read write follow");
  bob = await remoteAccount("bob");
  send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
});
afterEach(() => vi.restoreAllMocks());

/** What was queued for delivery: inbox and parsed activity. */
interface Delivery {
  inbox: string;
  activity: Record<string, any>;
}
function deliveries(): Delivery[] {
  return queuedDeliveries(send.mock.calls as unknown[][]);
}

async function addFollow(from: Account, to: Account, accepted = true): Promise<string> {
  const id = newId();
  await testCtx()
    .db.insert(follows)
    .values({
      id,
      accountId: from.id,
      targetAccountId: to.id,
      uri: `https://remote.example/follows/${id}`,
      accepted,
    });
  return id;
}

async function relationship(account: Account) {
  const res = await api("GET", `/api/v1/accounts/relationships?id[]=${account.id}`, token);
  expect(res.status).toBe(200);
  for (const r of res.body) expectEntity("Relationship", r);
  return res.body[0];
}

function post(path: string, body?: Record<string, unknown>, t = token) {
  return api("POST", path, t, body);
}

describe("follow and unfollow", () => {
  it("following sends a Follow to the account's own inbox and answers a pending Relationship", async () => {
    const res = await post(`/api/v1/accounts/${bob.id}/follow`, {
      reblogs: false,
      notify: true,
      languages: ["en", "DE"],
    });
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({
      id: bob.id,
      following: false,
      requested: true,
      showing_reblogs: false,
      notifying: true,
      languages: ["en", "de"],
    });
    const sent = deliveries();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.inbox).toBe("https://remote.example/users/bob/inbox");
    expect(sent[0]?.activity).toMatchObject({ type: "Follow", actor: ACTOR, object: bob.uri });
  });

  it("following again only updates the options, without a second Follow", async () => {
    await post(`/api/v1/accounts/${bob.id}/follow`);
    const again = await post(`/api/v1/accounts/${bob.id}/follow`, { reblogs: "false" });
    expectEntity("Relationship", again.body);
    expect(again.body).toMatchObject({ requested: true, showing_reblogs: false, notifying: false });
    expect(deliveries().filter((d) => d.activity.type === "Follow")).toHaveLength(1);
    const [row] = await rows<{ show_reblogs: number }>("SELECT show_reblogs FROM follows");
    expect(row?.show_reblogs).toBe(0);
  });

  it("unfollowing sends an Undo embedding the Follow", async () => {
    await post(`/api/v1/accounts/${bob.id}/follow`);
    const follow = deliveries()[0]?.activity;
    const res = await post(`/api/v1/accounts/${bob.id}/unfollow`);
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({ following: false, requested: false });
    const undo = deliveries()[1]?.activity;
    expect(undo).toMatchObject({
      type: "Undo",
      actor: ACTOR,
      object: { type: "Follow", id: follow?.id, object: bob.uri },
    });
  });

  it("refuses to follow the owner (403), a blocked account (403), unknown ids (404), without scope (403)", async () => {
    const me = await owner();
    expect((await post(`/api/v1/accounts/${me.id}/follow`)).status).toBe(403);
    expect((await post(`/api/v1/accounts/${bob.id}/block`)).status).toBe(200);
    const blocked = await post(`/api/v1/accounts/${bob.id}/follow`);
    expect(blocked.status).toBe(403);
    expect(blocked.body).toEqual({ error: "This action is not allowed" });
    expect((await post("/api/v1/accounts/123/follow")).status).toBe(404);
    const spam = await remoteAccount("eve", "spam.example");
    await post("/api/v1/domain_blocks", { domain: "spam.example" });
    expect((await post(`/api/v1/accounts/${spam.id}/follow`)).status).toBe(403);
    const carol = await remoteAccount("carol");
    expect((await post(`/api/v1/accounts/${carol.id}/follow`, {}, await userToken("read"))).status).toBe(403);
    expect((await api("POST", `/api/v1/accounts/${carol.id}/follow`)).status).toBe(401);
    expect(
      (await post(`/api/v1/accounts/${carol.id}/follow`, { languages: ["not a language"] })).status,
    ).toBe(422);
  });

  it("an accepted follow shows as following", async () => {
    await post(`/api/v1/accounts/${bob.id}/follow`);
    const follow = deliveries()[0]?.activity as Record<string, unknown>;
    await process({ id: `${bob.uri}#accept`, type: "Accept", actor: bob.uri, object: follow });
    expect(await relationship(bob)).toMatchObject({
      following: true,
      requested: false,
      showing_reblogs: true,
    });
  });
});

describe("block and unblock", () => {
  it("blocking ends follows both ways (Undo Follow, Reject) and sends a Block; unblocking sends Undo Block", async () => {
    const me = await owner();
    await addFollow(me, bob);
    const theirs = await addFollow(bob, me);
    const res = await post(`/api/v1/accounts/${bob.id}/block`);
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({ blocking: true, following: false, followed_by: false });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
    const types = deliveries().map((d) => d.activity.type);
    expect(types.sort()).toEqual(["Block", "Reject", "Undo"]);
    const byType = Object.fromEntries(deliveries().map((d) => [d.activity.type, d.activity]));
    expect(byType.Undo).toMatchObject({ object: { type: "Follow", object: bob.uri } });
    expect(byType.Reject).toMatchObject({
      object: { type: "Follow", id: `https://remote.example/follows/${theirs}`, actor: bob.uri },
    });
    const blockActivity = byType.Block;
    expect(blockActivity).toMatchObject({ type: "Block", actor: ACTOR, object: bob.uri });

    // Blocking again sends nothing more.
    await post(`/api/v1/accounts/${bob.id}/block`);
    expect(deliveries()).toHaveLength(3);

    const list = await api("GET", "/api/v1/blocks", token);
    expect(list.body.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    for (const a of list.body) expectEntity("Account", a);

    const un = await post(`/api/v1/accounts/${bob.id}/unblock`);
    expect(un.status).toBe(200);
    expectEntity("Relationship", un.body);
    expect(un.body.blocking).toBe(false);
    expect(deliveries()[3]?.activity).toMatchObject({
      type: "Undo",
      actor: ACTOR,
      object: { type: "Block", id: blockActivity?.id, object: bob.uri },
    });
    expect((await api("GET", "/api/v1/blocks", token)).body).toEqual([]);
  });

  it("shows a Block received from the account as blocked_by", async () => {
    await process({ id: `${bob.uri}#block`, type: "Block", actor: bob.uri, object: ACTOR });
    expect(await relationship(bob)).toMatchObject({ blocked_by: true, blocking: false });
  });

  it("scopes: blocking needs write:blocks, the list read:blocks; the owner cannot block themself", async () => {
    expect((await post(`/api/v1/accounts/${bob.id}/block`, {}, await userToken("write:mutes"))).status).toBe(
      403,
    );
    expect((await post(`/api/v1/accounts/${bob.id}/block`, {}, await userToken("write:blocks"))).status).toBe(
      200,
    );
    expect((await api("GET", "/api/v1/blocks", await userToken("read:mutes"))).status).toBe(403);
    expect((await api("GET", "/api/v1/blocks")).status).toBe(401);
    const self = await post(`/api/v1/accounts/${(await owner()).id}/block`);
    expect(self.status).toBe(422);
    expect(self.body.error).toMatch(/yourself/);
  });
});

describe("mute and unmute", () => {
  it("mutes with notifications and a duration, lists active mutes, unmutes", async () => {
    const carol = await remoteAccount("carol");
    const res = await post(`/api/v1/accounts/${bob.id}/mute`, { notifications: false, duration: 3600 });
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({ muting: true, muting_notifications: false });
    const expires = Date.parse(res.body.muting_expires_at);
    expect(expires - Date.now()).toBeGreaterThan(3500_000);
    expect(expires - Date.now()).toBeLessThan(3700_000);
    const forever = await post(`/api/v1/accounts/${carol.id}/mute`);
    expect(forever.body).toMatchObject({ muting: true, muting_notifications: true, muting_expires_at: null });
    expect(deliveries()).toEqual([]); // mutes are private

    const list = await api("GET", "/api/v1/mutes", token);
    expect(list.body.map((a: { id: string }) => a.id)).toEqual([carol.id, bob.id]);
    for (const a of list.body) expectEntity("Account", a);
    expect(list.headers.get("link")).toContain("max_id=");

    // An expired mute is no mute.
    await testCtx().db.update(mutes).set({ expiresAt: "2000-01-01T00:00:00.000Z" });
    expect((await api("GET", "/api/v1/mutes", token)).body).toEqual([]);
    expect(await relationship(bob)).toMatchObject({ muting: false });

    await post(`/api/v1/accounts/${carol.id}/mute`);
    const un = await post(`/api/v1/accounts/${carol.id}/unmute`);
    expectEntity("Relationship", un.body);
    expect(un.body.muting).toBe(false);
    expect((await post(`/api/v1/accounts/${bob.id}/mute`, { duration: -5 })).status).toBe(422);
    expect((await post(`/api/v1/accounts/${bob.id}/mute`, {}, await userToken("write:blocks"))).status).toBe(
      403,
    );
  });
});

describe("endorse, note, remove_from_followers", () => {
  it("endorses followed accounts only, and lists endorsements", async () => {
    const me = await owner();
    const refused = await post(`/api/v1/accounts/${bob.id}/pin`);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/follow/);
    await addFollow(me, bob);
    const res = await post(`/api/v1/accounts/${bob.id}/pin`);
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({ endorsed: true, following: true });
    const list = await api("GET", "/api/v1/endorsements", token);
    expect(list.body.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    for (const a of list.body) expectEntity("Account", a);
    const un = await post(`/api/v1/accounts/${bob.id}/unpin`);
    expect(un.body.endorsed).toBe(false);
    expect((await api("GET", "/api/v1/endorsements", token)).body).toEqual([]);
  });

  it("keeps a private note, cleared with an empty comment", async () => {
    const res = await post(`/api/v1/accounts/${bob.id}/note`, { comment: "met at the conference" });
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body.note).toBe("met at the conference");
    expect((await relationship(bob)).note).toBe("met at the conference");
    const cleared = await post(`/api/v1/accounts/${bob.id}/note`, { comment: "" });
    expect(cleared.body.note).toBe("");
    expect(await rows("SELECT * FROM account_notes")).toEqual([]);
    const long = await post(`/api/v1/accounts/${bob.id}/note`, { comment: "x".repeat(2001) });
    expect(long.status).toBe(422);
    expect(deliveries()).toEqual([]);
  });

  it("removing a follower deletes the follow and rejects it", async () => {
    const me = await owner();
    const id = await addFollow(bob, me);
    expect((await relationship(bob)).followed_by).toBe(true);
    const res = await post(`/api/v1/accounts/${bob.id}/remove_from_followers`);
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body.followed_by).toBe(false);
    expect(deliveries()[0]?.activity).toMatchObject({
      type: "Reject",
      object: { type: "Follow", id: `https://remote.example/follows/${id}` },
    });
  });
});

describe("GET /api/v1/accounts/relationships", () => {
  it("answers for each known id in order, with every field", async () => {
    const me = await owner();
    const carol = await remoteAccount("carol", "other.example");
    await addFollow(bob, me, false);
    await addFollow(me, carol);
    const res = await api(
      "GET",
      `/api/v1/accounts/relationships?id[]=${carol.id}&id[]=${bob.id}&id[]=1`,
      token,
    );
    expect(res.status).toBe(200);
    for (const r of res.body) expectEntity("Relationship", r);
    expect(res.body).toEqual([
      expect.objectContaining({ id: carol.id, following: true, showing_reblogs: true, requested: false }),
      expect.objectContaining({ id: bob.id, following: false, requested_by: true, followed_by: false }),
    ]);
    expect((await api("GET", `/api/v1/accounts/relationships?id=${bob.id}`, token)).body).toHaveLength(1);
    expect((await api("GET", "/api/v1/accounts/relationships?id[]=x", token)).status).toBe(422);
    expect((await api("GET", "/api/v1/accounts/relationships")).status).toBe(401);
    expect(
      (await api("GET", `/api/v1/accounts/relationships?id[]=${bob.id}`, await userToken("read:statuses")))
        .status,
    ).toBe(403);
  });
});

describe("follow requests", () => {
  it("lists pending requests and authorizes one with an Accept", async () => {
    const me = await owner();
    const carol = await remoteAccount("carol");
    const request = await addFollow(bob, me, false);
    await addFollow(carol, me, false);
    const list = await api("GET", "/api/v1/follow_requests?limit=1", token);
    expect(list.status).toBe(200);
    for (const a of list.body) expectEntity("Account", a);
    expect(list.body.map((a: { id: string }) => a.id)).toEqual([carol.id]);
    expect(list.headers.get("link")).toContain("max_id=");
    const res = await post(`/api/v1/follow_requests/${bob.id}/authorize`);
    expect(res.status).toBe(200);
    expectEntity("Relationship", res.body);
    expect(res.body).toMatchObject({ followed_by: true, requested_by: false });
    expect(deliveries()[0]?.activity).toMatchObject({
      type: "Accept",
      object: { id: `https://remote.example/follows/${request}`, type: "Follow" },
    });
    const rejected = await post(`/api/v1/follow_requests/${carol.id}/reject`);
    expectEntity("Relationship", rejected.body);
    expect(rejected.body).toMatchObject({ followed_by: false, requested_by: false });
    expect(deliveries()[1]?.activity.type).toBe("Reject");
    expect((await api("GET", "/api/v1/follow_requests", token)).body).toEqual([]);
    expect((await post(`/api/v1/follow_requests/${carol.id}/authorize`)).status).toBe(404);
    expect((await api("GET", "/api/v1/follow_requests", await userToken("read:accounts"))).status).toBe(403);
  });
});

describe("domain blocks", () => {
  it("blocks a domain, ending follows with its accounts, and unblocks it", async () => {
    const me = await owner();
    const carol = await remoteAccount("carol", "other.example");
    await addFollow(me, bob);
    await addFollow(bob, me);
    await addFollow(me, carol);
    const res = await post("/api/v1/domain_blocks", { domain: "Remote.Example" });
    expect(res).toMatchObject({ status: 200, body: {} });
    const left = await rows<{ target_account_id: string }>("SELECT target_account_id FROM follows");
    expect(left).toEqual([{ target_account_id: carol.id }]);
    expect(
      deliveries()
        .map((d) => d.activity.type)
        .sort(),
    ).toEqual(["Reject", "Undo"]);
    expect(await relationship(bob)).toMatchObject({
      domain_blocking: true,
      following: false,
      followed_by: false,
    });
    const list = await api("GET", "/api/v1/domain_blocks", token);
    expect(list.body).toEqual(["remote.example"]);
    expect(list.headers.get("link")).toContain("max_id=");
    const form = new URLSearchParams({ domain: "remote.example" });
    const del = await api("DELETE", "/api/v1/domain_blocks", token, form);
    expect(del).toMatchObject({ status: 200, body: {} });
    expect((await api("GET", "/api/v1/domain_blocks", token)).body).toEqual([]);
    expect((await api("DELETE", "/api/v1/domain_blocks?domain=remote.example", token)).status).toBe(200);
  });

  it("422 for a missing or invalid domain or the server's own, 403 without scope", async () => {
    expect((await post("/api/v1/domain_blocks", {})).status).toBe(422);
    expect((await post("/api/v1/domain_blocks", { domain: "not a domain" })).status).toBe(422);
    expect((await post("/api/v1/domain_blocks", { domain: "social.example.com" })).status).toBe(422);
    expect(
      (await post("/api/v1/domain_blocks", { domain: "x.example" }, await userToken("read"))).status,
    ).toBe(403);
    expect((await api("GET", "/api/v1/domain_blocks", await userToken("write"))).status).toBe(403);
  });
});

describe("featured tags", () => {
  async function ownerPostTagged(name: string) {
    const ctx = testCtx();
    const me = await owner();
    const id = newId();
    await ctx.db.insert(statuses).values({
      id,
      uri: uris(ctx.config).status(id),
      accountId: me.id,
      local: true,
      visibility: "public",
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
    });
    await ctx.db.insert(statusTags).values({ name, statusId: id });
  }

  it("features, lists, suggests and unfeatures hashtags", async () => {
    await ownerPostTagged("cats");
    await ownerPostTagged("cats");
    await ownerPostTagged("dogs");
    const suggestions = await api("GET", "/api/v1/featured_tags/suggestions", token);
    expect(suggestions.status).toBe(200);
    for (const t of suggestions.body) expectEntity("Tag", t);
    expect(suggestions.body.map((t: { name: string }) => t.name)).toEqual(["cats", "dogs"]);

    const created = await post("/api/v1/featured_tags", { name: "#Cats" });
    expect(created.status).toBe(200);
    expectEntity("FeaturedTag", created.body);
    expect(created.body).toMatchObject({ name: "cats", statuses_count: "2" });
    expect(created.body.last_status_at).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const again = await post("/api/v1/featured_tags", { name: "cats" });
    expect(again.body.id).toBe(created.body.id);

    const list = await api("GET", "/api/v1/featured_tags", token);
    for (const t of list.body) expectEntity("FeaturedTag", t);
    expect(list.body.map((t: { name: string }) => t.name)).toEqual(["cats"]);
    const after = await api("GET", "/api/v1/featured_tags/suggestions", token);
    expect(after.body.map((t: { name: string }) => t.name)).toEqual(["dogs"]);

    const del = await api("DELETE", `/api/v1/featured_tags/${created.body.id}`, token);
    expect(del).toMatchObject({ status: 200, body: {} });
    expect((await api("GET", "/api/v1/featured_tags", token)).body).toEqual([]);
    expect((await api("DELETE", `/api/v1/featured_tags/${created.body.id}`, token)).status).toBe(404);
  });

  it("422 for invalid names and past ten tags, 403 without scope", async () => {
    expect((await post("/api/v1/featured_tags", { name: "not valid!" })).status).toBe(422);
    expect((await post("/api/v1/featured_tags", {})).status).toBe(422);
    for (let i = 0; i < 10; i++)
      expect((await post("/api/v1/featured_tags", { name: `tag${i}` })).status).toBe(200);
    const over = await post("/api/v1/featured_tags", { name: "eleven" });
    expect(over.status).toBe(422);
    expect(over.body.error).toMatch(/10/);
    expect((await post("/api/v1/featured_tags", { name: "x" }, await userToken("read"))).status).toBe(403);
    expect((await api("GET", "/api/v1/featured_tags", await userToken("write"))).status).toBe(403);
  });
});
