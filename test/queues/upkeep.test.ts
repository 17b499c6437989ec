import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pollVotes } from "../../worker/db/schema";
import { upkeep } from "../../worker/queues/upkeep";
import { remoteAccount, remoteStatus } from "../helpers/api";
import { testCtx } from "../helpers/app";
import { owner, rows } from "../helpers/inbox";

describe("cron upkeep", () => {
  it("forgets inbox activity ids older than a week and keeps recent ones", async () => {
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO inbox_seen (activity_id, received_at) VALUES ('old', '2020-01-01T00:00:00.000Z')",
      ),
      env.DB.prepare("INSERT INTO inbox_seen (activity_id) VALUES ('new')"),
    ]);
    await upkeep(env);
    expect(await rows("SELECT activity_id FROM inbox_seen")).toEqual([{ activity_id: "new" }]);
  });

  it("brings the search index up to date", async () => {
    const bob = await remoteAccount("bob", "remote.example", { indexable: true });
    const status = await remoteStatus(bob, { content: "<p>a rare word: quokka</p>" });
    expect(await rows("SELECT status_id FROM status_search WHERE status_search MATCH 'quokka'")).toEqual([]);
    await upkeep(env);
    expect(await rows("SELECT status_id FROM status_search WHERE status_search MATCH 'quokka'")).toEqual([
      { status_id: status.id },
    ]);
  });

  it("notifies about a poll the owner voted in once it has ended, once", async () => {
    const me = await owner();
    const bob = await remoteAccount("bob");
    const endTime = new Date(Date.now() - 60_000).toISOString();
    const poll = await remoteStatus(bob, {
      extra: {
        type: "Question",
        oneOf: [
          { type: "Note", name: "tea", replies: { type: "Collection", totalItems: 1 } },
          { type: "Note", name: "coffee", replies: { type: "Collection", totalItems: 0 } },
        ],
        endTime,
      },
    });
    await testCtx().db.insert(pollVotes).values({ statusId: poll.id, accountId: me.id, choice: 0 });
    await upkeep(env);
    await upkeep(env);
    expect(await rows("SELECT type, status_id FROM notifications")).toEqual([
      { type: "poll", status_id: poll.id },
    ]);
  });
});
