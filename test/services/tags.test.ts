import { afterEach, describe, expect, it } from "vitest";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { BASE, testCtx } from "../helpers/app";
import { restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { featureTag } from "../../worker/services/featured-tags";
import { publishNote } from "../../worker/services/post-publish";
import { followTag, unfeatureTagByName, unfollowTag } from "../../worker/services/tags";

afterEach(() => restoreFetch());

/** Every way outside testing wrote café: case, composed, decomposed, full-width. */
const SPELLINGS = ["Café", "CAFÉ", "café", "cafe\u0301", "ｃａｆｅ"];

describe("hashtags are one tag whatever their case, accents or width", () => {
  it("stores the spellings of a remote tag as one tag and finds them by any spelling", async () => {
    const bob = await remoteAccount("bob");
    const posts = [];
    for (const tag of SPELLINGS) posts.push(await remoteStatus(bob, { tags: [tag] }));
    expect(await rows("SELECT DISTINCT name FROM status_tags")).toEqual([{ name: "cafe" }]);
    for (const asked of [...SPELLINGS, "cafe", "#Café"]) {
      const res = await api("GET", `/api/v1/timelines/tag/${encodeURIComponent(asked)}`);
      expect(res.status, asked).toBe(200);
      expect(new Set(res.body.map((s: { id: string }) => s.id)), asked).toEqual(
        new Set(posts.map((p) => p.id)),
      );
    }
    // The author's spelling is what the post shows.
    const shown = await api("GET", `/api/v1/statuses/${posts[0]!.id}`);
    expect(shown.body.tags).toMatchObject([{ name: "Café" }]);
  });

  it("stores a local post's spellings of a tag as one tag, linked to its page by its normalized name", async () => {
    const status = await publishNote(testCtx(), {
      text: "#Café #CAFÉ #ｃａｆｅ #cafe\u0301",
      visibility: "public",
    });
    expect(status.tags).toEqual([{ name: "Café" }]);
    expect(status.content).toContain(`href="${BASE}/tags/cafe"`);
    expect(await rows("SELECT name FROM status_tags")).toEqual([{ name: "cafe" }]);
  });

  it("follows and features a tag once, whatever spelling it is given in", async () => {
    const ctx = testCtx();
    for (const tag of SPELLINGS) {
      await followTag(ctx, tag);
      await featureTag(ctx, `#${tag}`);
    }
    expect(await rows("SELECT name FROM followed_tags")).toEqual([{ name: "cafe" }]);
    expect(await rows("SELECT name FROM featured_tags")).toEqual([{ name: "cafe" }]);
    const token = await userToken();
    const followed = await api("GET", "/api/v1/followed_tags", token);
    expect(followed.body).toMatchObject([{ name: "cafe", following: true, featuring: true }]);
    await unfollowTag(ctx, "CAFÉ");
    await unfeatureTagByName(ctx, "ｃａｆｅ");
    expect(await rows("SELECT name FROM followed_tags")).toEqual([]);
    expect(await rows("SELECT name FROM featured_tags")).toEqual([]);
  });

  it("counts the owner's uses of a featured tag in any spelling", async () => {
    const ctx = testCtx();
    await publishNote(ctx, { text: "#Café", visibility: "public" });
    await publishNote(ctx, { text: "#ｃａｆｅ", visibility: "public" });
    await featureTag(ctx, "CAFÉ");
    const token = await userToken();
    const featured = await api("GET", "/api/v1/featured_tags", token);
    expect(featured.body).toMatchObject([{ name: "cafe", statuses_count: "2" }]);
  });
});
