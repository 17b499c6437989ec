import { applyD1Migrations, env, reset } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rows } from "../helpers/inbox";

/** An id as the Worker makes them (lib/ids.ts): milliseconds shifted left 16 bits, plus low bits. */
const idAt = (iso: string, low = 1) => ((BigInt(Date.parse(iso)) << 16n) | BigInt(low)).toString();

/** What the code writes as last_status_at for a status id (services/counts.ts formats it so too). */
const idTime = (id: string) => new Date(Number(BigInt(id) >> 16n)).toISOString();

describe("migration 0008's backfill", () => {
  it("counts what the code counts: accepted follows, live statuses and boosts, replies, favourites without reactions", async () => {
    await reset();
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0008");
    expect(before.at(-1)?.name).toMatch(/^0007_/);
    await applyD1Migrations(env.DB, before);

    const db = env.DB;
    const account = (id: string, username: string) =>
      db
        .prepare(
          `INSERT INTO accounts (id, uri, username, domain, display_name, inbox, fetched_at)
           VALUES (?, ?, ?, 'remote.example', ?, ?, '2026-01-01T00:00:00.000Z')`,
        )
        .bind(
          id,
          `https://remote.example/users/${username}`,
          username,
          username,
          `https://remote.example/inbox`,
        );
    const follow = (id: string, from: string, to: string, accepted: boolean) =>
      db
        .prepare(
          "INSERT INTO follows (id, account_id, target_account_id, uri, accepted) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id, from, to, `https://remote.example/follows/${id}`, accepted ? 1 : 0);
    const status = (
      id: string,
      accountId: string,
      opts: { replyTo?: string; boostOf?: string; deleted?: boolean } = {},
    ) =>
      db
        .prepare(
          `INSERT INTO statuses (id, uri, account_id, visibility, content, audience, published_at,
             in_reply_to_uri, reblog_of_id, deleted_at)
           VALUES (?, ?, ?, 'public', '<p>x</p>', '{"to":[],"cc":[]}', '2026-01-01T00:00:00.000Z', ?, ?, ?)`,
        )
        .bind(
          id,
          `https://remote.example/s/${id}`,
          accountId,
          opts.replyTo ? `https://remote.example/s/${opts.replyTo}` : null,
          opts.boostOf ?? null,
          opts.deleted ? "2026-02-01T00:00:00.000Z" : null,
        );
    const favourite = (id: string, accountId: string, statusId: string, emoji: string | null) =>
      db
        .prepare("INSERT INTO favourites (id, account_id, status_id, uri, emoji) VALUES (?, ?, ?, ?, ?)")
        .bind(id, accountId, statusId, `https://remote.example/likes/${id}`, emoji);

    const [ann, bob, cat] = ["100", "200", "300"];
    // Milliseconds that a float division could round wrongly, and the newest status deleted.
    const post = idAt("2026-03-04T05:06:07.123Z");
    const newest = idAt("2026-03-05T00:00:00.999Z");
    const gone = idAt("2026-03-06T00:00:00.000Z");
    const reply = idAt("2026-03-04T06:00:00.007Z");
    const deletedReply = idAt("2026-03-04T07:00:00.000Z", 2);
    const boost = idAt("2026-03-04T08:00:00.500Z");
    const deletedBoost = idAt("2026-03-04T09:00:00.000Z", 3);
    await db.batch([
      account(ann, "ann"),
      account(bob, "bob"),
      account(cat, "cat"),
      follow("1", bob, ann, true),
      follow("2", cat, ann, false),
      follow("3", ann, bob, true),
      follow("4", ann, cat, true),
      status(post, ann),
      status(newest, ann),
      status(gone, ann, { deleted: true }),
      status(reply, bob, { replyTo: post }),
      status(deletedReply, cat, { replyTo: post, deleted: true }),
      status(boost, bob, { boostOf: post }),
      status(deletedBoost, cat, { boostOf: post, deleted: true }),
      favourite("10", bob, post, null),
      favourite("11", cat, post, null),
      favourite("12", cat, post, "🐦"),
      favourite("13", bob, newest, ":blob:"),
    ]);

    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

    const accountsNow = await rows<Record<string, unknown>>(
      `SELECT id, followers_count, following_count, statuses_count, last_status_at FROM accounts ORDER BY id`,
    );
    expect(accountsNow).toEqual([
      { id: ann, followers_count: 1, following_count: 2, statuses_count: 2, last_status_at: idTime(newest) },
      { id: bob, followers_count: 1, following_count: 1, statuses_count: 2, last_status_at: idTime(boost) },
      { id: cat, followers_count: 1, following_count: 0, statuses_count: 0, last_status_at: null },
    ]);
    const statusesNow = await rows<Record<string, unknown>>(
      `SELECT id, replies_count, reblogs_count, favourites_count FROM statuses WHERE deleted_at IS NULL ORDER BY id`,
    );
    expect(statusesNow).toEqual([
      { id: post, replies_count: 1, reblogs_count: 1, favourites_count: 2 },
      { id: reply, replies_count: 0, reblogs_count: 0, favourites_count: 0 },
      { id: boost, replies_count: 0, reblogs_count: 0, favourites_count: 0 },
      { id: newest, replies_count: 0, reblogs_count: 0, favourites_count: 0 },
    ]);
  });
});
