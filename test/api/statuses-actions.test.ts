import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { ACTOR } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { follower, watchDeliveries } from "./statuses-helpers";
import type { Account } from "../../worker/db/client";

let token: string;
let bob: Account;
beforeEach(async () => {
  token = await userToken();
  mockFetch({});
  bob = await remoteAccount("bob");
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const act = (id: string, action: string, body?: Record<string, unknown>, t = token) =>
  api("POST", `/api/v1/statuses/${id}/${action}`, t, body);
const post = (body: Record<string, unknown>) => api("POST", "/api/v1/statuses", token, body);

describe("favourites", () => {
  it("favourites and unfavourites, sending Like and Undo to the author", async () => {
    const s = await remoteStatus(bob);
    const d = watchDeliveries();
    const fav = await act(s.id, "favourite");
    expect(fav.status).toBe(200);
    expectEntity("Status", fav.body);
    expect(fav.body).toMatchObject({ favourited: true, favourites_count: 1 });
    expect(d.sent()).toMatchObject([
      { inbox: "https://remote.example/inbox", activity: { type: "Like", object: s.uri } },
    ]);
    const again = await act(s.id, "favourite");
    expect(again.body.favourites_count).toBe(1);
    const unfav = await act(s.id, "unfavourite");
    expect(unfav.status).toBe(200);
    expectEntity("Status", unfav.body);
    expect(unfav.body).toMatchObject({ favourited: false, favourites_count: 0 });
    expect(d.sent()[1]?.activity).toMatchObject({ type: "Undo", object: { type: "Like", object: s.uri } });
  });

  it("lists who favourited, with a Link header, without a token for a public status", async () => {
    const s = await post({ status: "like me" });
    await rows(
      "INSERT INTO favourites (id, account_id, status_id, uri) VALUES ('100000000000000001', ?, ?, 'https://remote.example/likes/1')",
      bob.id,
      s.body.id,
    );
    const res = await api("GET", `/api/v1/statuses/${s.body.id}/favourited_by`);
    expect(res.status).toBe(200);
    for (const a of res.body) expectEntity("Account", a);
    expect(res.body.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    expect(res.headers.get("link")).toContain("max_id=100000000000000001");
  });

  it("needs write:favourites (403) and a known status (404)", async () => {
    const s = await remoteStatus(bob);
    expect((await act(s.id, "favourite", undefined, await userToken("read"))).status).toBe(403);
    expect((await act(s.id, "favourite", undefined, await userToken("write:favourites"))).status).toBe(200);
    expect((await act("999999", "favourite")).status).toBe(404);
    expect((await api("POST", `/api/v1/statuses/${s.id}/favourite`)).status).toBe(401);
  });
});

describe("boosts", () => {
  it("boosts with a visibility and unboosts, federating Announce and Undo", async () => {
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const s = await remoteStatus(bob);
    const d = watchDeliveries();
    const res = await act(s.id, "reblog", { visibility: "unlisted" });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body).toMatchObject({
      visibility: "unlisted",
      reblogged: true,
      reblog: { id: s.id, reblogs_count: 1 },
    });
    expect(d.sent()[0]?.activity).toMatchObject({ type: "Announce", actor: ACTOR, object: s.uri });
    const by = await api("GET", `/api/v1/statuses/${s.id}/reblogged_by`, token);
    for (const a of by.body) expectEntity("Account", a);
    expect(by.body.map((a: { username: string }) => a.username)).toEqual(["alice"]);
    const un = await act(s.id, "unreblog");
    expect(un.status).toBe(200);
    expectEntity("Status", un.body);
    expect(un.body).toMatchObject({ id: s.id, reblogged: false, reblogs_count: 0 });
    expect(d.sent().some((x) => x.activity.type === "Undo")).toBe(true);
  });

  it("boosts the owner's own followers-only post to followers only", async () => {
    const priv = await post({ status: "for followers", visibility: "private" });
    const d = watchDeliveries();
    const res = await act(priv.body.id, "reblog", { visibility: "public" });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.visibility).toBe("private");
    expect((await api("GET", `/api/v1/statuses/${res.body.id}`)).status).toBe(404);
    void d;
  });

  it("refuses to boost a direct status (422) and a bad visibility (422)", async () => {
    const dm = await remoteStatus(bob, { visibility: "direct", mentions: [ACTOR] });
    expect((await act(dm.id, "reblog")).status).toBe(422);
    const s = await remoteStatus(bob);
    expect((await act(s.id, "reblog", { visibility: "direct" })).status).toBe(422);
  });
});

describe("bookmarks", () => {
  it("bookmarks and unbookmarks", async () => {
    const s = await remoteStatus(bob);
    const res = await act(s.id, "bookmark");
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.bookmarked).toBe(true);
    expect((await act(s.id, "bookmark")).status).toBe(200);
    expect(await rows("SELECT status_id FROM bookmarks")).toEqual([{ status_id: s.id }]);
    const un = await act(s.id, "unbookmark");
    expectEntity("Status", un.body);
    expect(un.body.bookmarked).toBe(false);
    expect((await act(s.id, "bookmark", undefined, await userToken("write:statuses"))).status).toBe(403);
  });
});

describe("pins", () => {
  it("pins the owner's public post and federates Add to the featured collection, then Remove", async () => {
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const s = await post({ status: "pin me" });
    const d = watchDeliveries();
    const res = await act(s.body.id, "pin");
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.pinned).toBe(true);
    expect(d.sent()[0]?.activity).toMatchObject({
      type: "Add",
      object: s.body.uri,
      target: `${ACTOR}/collections/featured`,
    });
    const un = await act(s.body.id, "unpin");
    expectEntity("Status", un.body);
    expect(un.body.pinned).toBe(false);
    expect(d.sent()[1]?.activity).toMatchObject({ type: "Remove", target: `${ACTOR}/collections/featured` });
  });

  it("refuses others' posts, private posts and a sixth pin (422)", async () => {
    const theirs = await remoteStatus(bob);
    expect((await act(theirs.id, "pin")).status).toBe(422);
    const priv = await post({ status: "p", visibility: "private" });
    expect((await act(priv.body.id, "pin")).status).toBe(422);
    for (let i = 0; i < 5; i++) {
      const s = await post({ status: `pin ${i}` });
      expect((await act(s.body.id, "pin")).status).toBe(200);
    }
    const sixth = await post({ status: "sixth" });
    const res = await act(sixth.body.id, "pin");
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/at most 5/);
    expect(await rows("SELECT status_id FROM pins")).toHaveLength(5);
  });
});

describe("conversation mutes", () => {
  it("mutes a thread: its posts, replies included, show muted until unmuted", async () => {
    const root = await remoteStatus(bob);
    const reply = await post({ status: "reply", in_reply_to_id: root.id });
    const res = await act(reply.body.id, "mute");
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.muted).toBe(true);
    const other = await api("GET", `/api/v1/statuses/${root.id}`, token);
    expect(other.body.muted).toBe(true);
    const un = await act(root.id, "unmute");
    expectEntity("Status", un.body);
    expect(un.body.muted).toBe(false);
    expect((await api("GET", `/api/v1/statuses/${reply.body.id}`, token)).body.muted).toBe(false);
    expect((await act(root.id, "mute", undefined, await userToken("write:statuses"))).status).toBe(403);
  });
});
