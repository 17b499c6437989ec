import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { follows, statuses } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import {
  batchOf,
  followInsertCounts,
  lastStatusAt,
  statusRemovalCounts,
} from "../../worker/services/counters";
import { countsFor } from "../../worker/services/counts";
import { deleteNote } from "../../worker/services/post-delete";
import { publishNote } from "../../worker/services/post-publish";
import { remoteAccount, remoteStatus } from "../helpers/api";
import { testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";

describe("account counts", () => {
  it("are those kept on the rows: posts without tombstones, accepted follows only, the last post dated by its id", async () => {
    const ctx = testCtx();
    const me = await owner();
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol");
    const kept = await publishNote(ctx, { text: "one", visibility: "public" });
    const gone = await publishNote(ctx, { text: "two", visibility: "public" });
    await deleteNote(ctx, gone.id);
    const published = "2026-01-02T03:04:05.000Z";
    await remoteStatus(bob, { published });
    const removed = await remoteStatus(bob, { published });
    await ctx.db.batch([
      ...statusRemovalCounts(ctx, (s) => sql`${s}.id = ${removed.id}`),
      ctx.db.update(statuses).set({ deletedAt: new Date().toISOString() }).where(eq(statuses.id, removed.id)),
      lastStatusAt(ctx, bob.id),
    ]);
    for (const f of [
      {
        id: newId(),
        accountId: bob.id,
        targetAccountId: me.id,
        uri: "https://remote.example/f1",
        accepted: true,
      },
      {
        id: newId(),
        accountId: carol.id,
        targetAccountId: me.id,
        uri: "https://remote.example/f2",
        accepted: false,
      },
      {
        id: newId(),
        accountId: me.id,
        targetAccountId: bob.id,
        uri: "https://social.example.com/f3",
        accepted: true,
      },
    ])
      await batchOf(ctx, [...followInsertCounts(ctx, f), ctx.db.insert(follows).values(f)]);
    const counts = await countsFor(ctx, [me.id, bob.id, carol.id]);
    expect(counts.get(me.id)).toMatchObject({ statuses: 1, followers: 1, following: 1 });
    expect(Date.parse(counts.get(me.id)!.lastStatusAt!)).toBeGreaterThanOrEqual(
      Date.parse(kept.publishedAt) - 1,
    );
    expect(counts.get(bob.id)).toEqual({ statuses: 1, followers: 1, following: 1, lastStatusAt: published });
    expect(counts.get(carol.id)).toEqual({ statuses: 0, followers: 0, following: 0, lastStatusAt: null });
  });
});
