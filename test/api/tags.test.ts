import { beforeEach, describe, expect, it } from "vitest";
import { followedTags } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { testCtx } from "../helpers/app";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

describe("tags", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken();
  });

  it("shows a tag with its history, to anyone, and 404 for a name that is no hashtag", async () => {
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    await remoteStatus(bob, { tags: ["Perch"] });
    await remoteStatus(bob, { tags: ["perch"] });
    await remoteStatus(carol, { tags: ["perch"] });

    const anon = await api("GET", "/api/v1/tags/Perch");
    expect(anon.status).toBe(200);
    expectEntity("Tag", anon.body);
    expect(anon.body.name).toBe("perch");
    expect(anon.body.url).toBe("https://social.example.com/tags/perch");
    expect(anon.body.history).toHaveLength(7);
    expect(anon.body.history[0]).toMatchObject({ uses: "3", accounts: "2" });
    expect(anon.body.following).toBeUndefined();

    const authed = await api("GET", "/api/v1/tags/perch", token);
    expectEntity("Tag", authed.body);
    expect(authed.body).toMatchObject({ following: false, featuring: false });

    const unicode = await api("GET", `/api/v1/tags/${encodeURIComponent("Café")}`, token);
    expect(unicode.status).toBe(200);
    expectEntity("Tag", unicode.body);
    // Mastodon's HashtagNormalizer folds accents: #Café, #café and #cafe are one tag.
    expect(unicode.body.name).toBe("cafe");

    const unused = await api("GET", "/api/v1/tags/neverused", token);
    expect(unused.status).toBe(200);
    expectEntity("Tag", unused.body);

    for (const bad of ["no%20spaces", "123", "a-b"]) {
      const res = await api("GET", `/api/v1/tags/${bad}`, token);
      expect(res.status, bad).toBe(404);
      expectEntity("Error", res.body);
    }
    expect((await api("GET", "/api/v1/tags/perch", "not-a-token")).status).toBe(401);
  });

  it("follows and unfollows a tag", async () => {
    const followed = await api("POST", "/api/v1/tags/Cats/follow", token);
    expect(followed.status).toBe(200);
    expectEntity("Tag", followed.body);
    expect(followed.body).toMatchObject({ name: "cats", following: true });
    // Again: no error, no second row.
    expect((await api("POST", "/api/v1/tags/cats/follow", token)).status).toBe(200);
    expect(await rows("SELECT name FROM followed_tags")).toEqual([{ name: "cats" }]);

    const unfollowed = await api("POST", "/api/v1/tags/cats/unfollow", token);
    expectEntity("Tag", unfollowed.body);
    expect(unfollowed.body.following).toBe(false);
    expect(await rows("SELECT name FROM followed_tags")).toEqual([]);

    expect((await api("POST", "/api/v1/tags/a-b/follow", token)).status).toBe(404);
    expect((await api("POST", "/api/v1/tags/cats/follow")).status).toBe(401);
    expect((await api("POST", "/api/v1/tags/cats/follow", await userToken("read"))).status).toBe(403);
    expect((await api("POST", "/api/v1/tags/cats/follow", await userToken("follow"))).status).toBe(200);
  });

  it("features and unfeatures a tag", async () => {
    const featured = await api("POST", "/api/v1/tags/perch/feature", token);
    expect(featured.status).toBe(200);
    expectEntity("Tag", featured.body);
    expect(featured.body.featuring).toBe(true);
    expect(await rows("SELECT name FROM featured_tags")).toEqual([{ name: "perch" }]);
    const unfeatured = await api("POST", "/api/v1/tags/perch/unfeature", token);
    expectEntity("Tag", unfeatured.body);
    expect(unfeatured.body.featuring).toBe(false);
    expect(await rows("SELECT name FROM featured_tags")).toEqual([]);
    expect((await api("POST", "/api/v1/tags/perch/feature", await userToken("write:follows"))).status).toBe(
      403,
    );
  });

  it("lists followed tags, newest first, paged with a Link header", async () => {
    const db = testCtx().db;
    const base = Date.now() - 10_000;
    for (const [i, name] of ["a", "b", "c"].entries())
      await db.insert(followedTags).values({ name, id: newId(base + i * 1000) });
    const page1 = await api("GET", "/api/v1/followed_tags?limit=2", token);
    expect(page1.status).toBe(200);
    for (const t of page1.body) expectEntity("Tag", t);
    expect(page1.body.map((t: { name: string }) => t.name)).toEqual(["c", "b"]);
    expect(page1.body.every((t: { following: boolean }) => t.following)).toBe(true);
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get("link") ?? "")?.[1];
    expect(next).toBeTruthy();
    const u = new URL(next!);
    const page2 = await api("GET", u.pathname + u.search, token);
    expect(page2.body.map((t: { name: string }) => t.name)).toEqual(["a"]);
    expect((await api("GET", "/api/v1/followed_tags", await userToken("read:statuses"))).status).toBe(403);
  });
});
