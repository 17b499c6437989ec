import { describe, expect, it } from "vitest";
import type { Account, Status } from "../../worker/db/client";
import { blocks, favourites, statuses } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { favouriteInsertCount, statusInsertCounts } from "../../worker/services/counters";
import { testCtx } from "../helpers/app";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { owner } from "../helpers/inbox";
import { expectEntity } from "../helpers/openapi";

const HOUR = 3_600_000;

/** A remote Like stored as the inbox stores it, counted on the status. */
async function like(status: Status, by: Account) {
  const id = newId();
  const ctx = testCtx();
  const uri = `${by.uri}/likes/${id}`;
  await ctx.db.batch([
    favouriteInsertCount(ctx, { statusId: status.id, uri }),
    ctx.db.insert(favourites).values({ id, accountId: by.id, statusId: status.id, uri }),
  ]);
}

/** A remote boost stored as the inbox stores it, counted on the original and its author. */
async function boost(status: Status, by: Account) {
  const id = newId();
  const ctx = testCtx();
  const uri = `${by.uri}/boosts/${id}`;
  const counts = statusInsertCounts(ctx, { uri, accountId: by.id, reblogOfId: status.id });
  await ctx.db.batch([
    ...counts.before,
    ctx.db.insert(statuses).values({
      id,
      uri,
      accountId: by.id,
      visibility: "public",
      reblogOfId: status.id,
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
    }),
    ...counts.after,
  ]);
}

describe("trends", () => {
  it("ranks tags by distinct accounts over the last week, with history, paged by offset", async () => {
    const [a, b, c] = [await remoteAccount("a"), await remoteAccount("b"), await remoteAccount("c")];
    // "busy": one account, three posts; "wide": three accounts, one post each.
    for (let i = 0; i < 3; i++) await remoteStatus(a, { tags: ["busy"] });
    for (const x of [a, b, c]) await remoteStatus(x, { tags: ["wide"] });
    await remoteStatus(b, { tags: ["busy"], published: new Date(Date.now() - 10 * 24 * HOUR).toISOString() });
    await remoteStatus(c, { tags: ["secret"], visibility: "private" });
    await remoteStatus(c, {
      tags: ["ancient"],
      published: new Date(Date.now() - 30 * 24 * HOUR).toISOString(),
    });

    const res = await api("GET", "/api/v1/trends/tags");
    expect(res.status).toBe(200);
    for (const t of res.body) expectEntity("Tag", t);
    expect(res.body.map((t: { name: string }) => t.name)).toEqual(["wide", "busy"]);
    expect(res.body[0].history[0]).toMatchObject({ accounts: "3", uses: "3" });

    const old = await api("GET", "/api/v1/trends");
    expect(old.body.map((t: { name: string }) => t.name)).toEqual(["wide", "busy"]);

    const first = await api("GET", "/api/v1/trends/tags?limit=1");
    expect(first.body.map((t: { name: string }) => t.name)).toEqual(["wide"]);
    expect(first.headers.get("link")).toContain("offset=1");
    const second = await api("GET", "/api/v1/trends/tags?limit=1&offset=1");
    expect(second.body.map((t: { name: string }) => t.name)).toEqual(["busy"]);
    expect((await api("GET", "/api/v1/trends/tags?limit=x")).status).toBe(400);
  });

  it("ranks statuses by favourites and boosts, newer ones weighing more", async () => {
    const found = { discoverable: true };
    const [a, b, c, d] = [
      await remoteAccount("a", "remote.example", found),
      await remoteAccount("b", "remote.example", found),
      await remoteAccount("c", "remote.example", found),
      await remoteAccount("d", "remote.example", found),
    ];
    // Not discoverable: its posts do not trend, however popular.
    const shy = await remoteAccount("shy");
    const shyPost = await remoteStatus(shy);
    for (const x of [a, b, c]) await like(shyPost, x);
    const me = await owner();
    const oldPopular = await remoteStatus(a, { published: new Date(Date.now() - 40 * HOUR).toISOString() });
    const fresh = await remoteStatus(b, { published: new Date(Date.now() - 1 * HOUR).toISOString() });
    const quiet = await remoteStatus(c);
    const hidden = await remoteStatus(d, { visibility: "unlisted" });
    const blocked = await remoteStatus(d);
    for (const x of [b, c, d, me]) await like(oldPopular, x);
    await boost(oldPopular, c);
    await like(fresh, a);
    await boost(fresh, c);
    await like(hidden, a);
    await like(blocked, a);
    await testCtx().db.insert(blocks).values({ accountId: me.id, targetAccountId: d.id });

    const res = await api("GET", "/api/v1/trends/statuses");
    expect(res.status).toBe(200);
    for (const s of res.body) expectEntity("Status", s);
    expect(res.body.map((s: { id: string }) => s.id)).toEqual([fresh.id, oldPopular.id]);
    expect(res.body.some((s: { id: string }) => s.id === quiet.id)).toBe(false);
    expect(res.body.some((s: { id: string }) => s.id === shyPost.id)).toBe(false);
    expect(res.body[1].favourites_count).toBe(4);

    const paged = await api("GET", "/api/v1/trends/statuses?limit=1&offset=1");
    expect(paged.body.map((s: { id: string }) => s.id)).toEqual([oldPopular.id]);
  });

  it("answers an empty list of links", async () => {
    const res = await api("GET", "/api/v1/trends/links");
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    for (const l of res.body) expectEntity("TrendsLink", l);
  });
});
