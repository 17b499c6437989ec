import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pollVotes } from "../../worker/db/schema";
import { sweepInboxPayloads, turnOf, upkeep, upkeepJobs } from "../../worker/queues/upkeep";
import { renormalizeStoredTags } from "../../worker/services/tags";
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

  it("indexes at most 150 statuses a run, so that a day's backlog does not make one run heavy", async () => {
    const bob = await remoteAccount("bob", "remote.example", { indexable: true });
    const insert = env.DB.prepare(
      "INSERT INTO statuses (id, uri, account_id, visibility, audience, content, published_at) VALUES (?, ?, ?, 'public', '{\"to\":[],\"cc\":[]}', ?, '2026-01-01')",
    );
    await env.DB.batch(
      Array.from({ length: 350 }, (_, i) =>
        insert.bind(String(1000 + i), `x:${i}`, bob.id, `<p>backlog${i}</p>`),
      ),
    );
    const indexed = async () => (await rows<{ n: number }>("SELECT count(*) AS n FROM status_search"))[0]?.n;
    await upkeep(env);
    expect(await indexed()).toBe(150);
    await upkeep(env);
    expect(await indexed()).toBe(300);
    await upkeep(env);
    expect(await indexed()).toBe(350);
  });

  it("splits its jobs between even and odd runs, and runs the rest every time", async () => {
    const even = new Date(Date.UTC(2026, 11, 2, 10, 0)); // an even quarter hour since 1970
    const odd = new Date(even.getTime() + 15 * 60_000);
    expect([turnOf(even), turnOf(odd)]).toEqual(["even", "odd"]);
    const jobs = await upkeepJobs(env);
    const by = (turn: string) => jobs.filter((j) => j.turn === turn).map((j) => j.name);
    expect(by("even")).toEqual(["search index"]);
    expect(by("odd")).toContain("inbox_seen cleanup");
    expect(by("every")).toContain("ended polls");
    const bob = await remoteAccount("bob", "remote.example", { indexable: true });
    await env.DB.prepare(
      "INSERT INTO statuses (id, uri, account_id, visibility, audience, content, published_at) VALUES ('900', 'x:turn', ?, 'public', '{\"to\":[],\"cc\":[]}', '<p>turns</p>', '2026-01-01')",
    )
      .bind(bob.id)
      .run();
    await env.DB.prepare(
      "INSERT INTO inbox_seen (activity_id, received_at) VALUES ('https://old.example/a', '2020-01-01T00:00:00.000Z')",
    ).run();
    const state = async () => ({
      indexed: (await rows<{ n: number }>("SELECT count(*) AS n FROM status_search"))[0]?.n,
      seen: (await rows<{ n: number }>("SELECT count(*) AS n FROM inbox_seen"))[0]?.n,
    });
    await upkeep(env, odd);
    expect(await state()).toEqual({ indexed: 0, seen: 0 });
    await env.DB.prepare(
      "INSERT INTO inbox_seen (activity_id, received_at) VALUES ('https://old.example/b', '2020-01-01T00:00:00.000Z')",
    ).run();
    await upkeep(env, even);
    expect(await state()).toEqual({ indexed: 1, seen: 1 });
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

describe("cron upkeep of what earlier versions left", () => {
  it("removes large-activity payloads left in R2 for more than two days, and keeps recent ones", async () => {
    await env.MEDIA.put("inbox/recent.json", "{}");
    await env.MEDIA.put("media/keep.png", "x");
    expect(await sweepInboxPayloads(env, Date.now() + 3 * 24 * 3600_000)).toBe(1);
    expect(await env.MEDIA.get("inbox/recent.json")).toBeNull();
    expect(await env.MEDIA.get("media/keep.png")).not.toBeNull();
    await env.MEDIA.put("inbox/new.json", "{}");
    expect(await sweepInboxPayloads(env)).toBe(0);
    expect(await env.MEDIA.get("inbox/new.json")).not.toBeNull();
  });

  it("brings tag names stored before normalization to their normalized form, in chunks, then stops", async () => {
    const bob = await remoteAccount("bob", "remote.example");
    const a = await remoteStatus(bob, { content: "<p>a</p>" });
    const b = await remoteStatus(bob, { content: "<p>b</p>" });
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO status_tags (name, status_id) VALUES ('café', ?), ('ｃａｆｅ', ?), ('cafe', ?)",
      ).bind(a.id, b.id, b.id),
      env.DB.prepare("INSERT INTO status_tags (name, status_id) VALUES ('日本', ?), ('perch', ?)").bind(
        a.id,
        a.id,
      ),
      env.DB.prepare("INSERT INTO followed_tags (name, id) VALUES ('CAFÉ', '1')"),
    ]);
    const ctx = testCtx();
    // Non-ASCII names in order: café, 日本 (already normal), ｃａｆｅ; two a run.
    expect(await renormalizeStoredTags(ctx, 2)).toBe(1);
    expect(await renormalizeStoredTags(ctx, 2)).toBe(1);
    expect(await renormalizeStoredTags(ctx, 2)).toBe(0);
    expect(await rows("SELECT name, status_id FROM status_tags ORDER BY name, status_id")).toEqual(
      [
        { name: "cafe", status_id: a.id },
        { name: "cafe", status_id: b.id },
        { name: "perch", status_id: a.id },
        { name: "日本", status_id: a.id },
      ].sort((x, y) => (x.name + x.status_id).localeCompare(y.name + y.status_id)),
    );
    expect(await rows("SELECT name FROM followed_tags")).toEqual([{ name: "cafe" }]);
    expect(await rows("SELECT value FROM settings WHERE key = 'tags_renormalized'")).toEqual([
      { value: JSON.stringify({ done: true }) },
    ]);
  });
});
