import { applyD1Migrations, env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { owner, rows } from "../helpers/inbox";

/**
 * home_feed and the triggers of migration 0009 that keep it (db/schema/statuses.ts, homeFeed): every write of
 * a status, a follow or a followed tag, whoever makes it, keeps the feed to what belongs at home.
 */

const db = () => env.DB;
let me = "";
let n = 0;
/** Ids in time order, as the Worker makes them. */
const nextId = () => (100_000_000_000_000_000n + BigInt(++n) * 65_536n).toString();

async function account(username: string): Promise<string> {
  const id = nextId();
  await db()
    .prepare(
      `INSERT INTO accounts (id, uri, username, domain, inbox, fetched_at)
       VALUES (?, ?, ?, 'remote.example', 'https://remote.example/inbox', '2026-01-01T00:00:00.000Z')`,
    )
    .bind(id, `https://remote.example/users/${username}`, username)
    .run();
  return id;
}

async function status(
  accountId: string,
  opts: { boostOf?: string; visibility?: string; tag?: string } = {},
): Promise<string> {
  const id = nextId();
  await db()
    .prepare(
      `INSERT INTO statuses (id, uri, account_id, visibility, content, audience, published_at, reblog_of_id)
       VALUES (?, ?, ?, ?, '<p>x</p>', '{"to":[],"cc":[]}', '2026-01-01T00:00:00.000Z', ?)`,
    )
    .bind(id, `https://remote.example/s/${id}`, accountId, opts.visibility ?? "public", opts.boostOf ?? null)
    .run();
  if (opts.tag)
    await db().prepare("INSERT INTO status_tags (name, status_id) VALUES (?, ?)").bind(opts.tag, id).run();
  return id;
}

async function follow(from: string, to: string, accepted: boolean) {
  await db()
    .prepare("INSERT INTO follows (id, account_id, target_account_id, uri, accepted) VALUES (?, ?, ?, ?, ?)")
    .bind(nextId(), from, to, `https://remote.example/f/${++n}`, accepted ? 1 : 0)
    .run();
}

const feed = async () =>
  (await rows<{ status_id: string }>("SELECT status_id FROM home_feed ORDER BY status_id")).map(
    (r) => r.status_id,
  );

beforeEach(async () => {
  me = (await owner()).id;
});

describe("home_feed", () => {
  it("takes new statuses of the owner and of accepted follows, not of strangers or pending follows", async () => {
    const bob = await account("bob");
    const pending = await account("pending");
    const stranger = await account("stranger");
    await follow(me, bob, true);
    await follow(me, pending, false);
    // Someone following the owner is not followed by the owner.
    await follow(stranger, me, true);
    const mine = await status(me, { visibility: "private" });
    const bobs = await status(bob);
    await status(pending);
    await status(stranger);
    expect(await feed()).toEqual([mine, bobs]);
  });

  it("lets a status go when it becomes a tombstone or is deleted", async () => {
    const bob = await account("bob");
    await follow(me, bob, true);
    const a = await status(bob);
    const b = await status(bob);
    const c = await status(bob);
    await db()
      .prepare("UPDATE statuses SET deleted_at = '2026-02-01T00:00:00.000Z' WHERE id = ?")
      .bind(a)
      .run();
    await db().prepare("DELETE FROM statuses WHERE id = ?").bind(b).run();
    expect(await feed()).toEqual([c]);
  });

  it("merges a follow's 400 newest statuses when it is accepted, and removes them when it ends", async () => {
    const bob = await account("bob");
    const carol = await account("carol");
    // 402 posts by bob, stored before the follow (from a relay, say), one of them tagged #cats.
    await db().prepare("INSERT INTO followed_tags (name, id) VALUES ('cats', '1')").run();
    const first = await status(bob, { tag: "cats" });
    const second = await status(bob);
    const older = [first, second];
    for (let i = 0; i < 400; i++) await status(bob);
    const all = (
      await rows<{ id: string }>("SELECT id FROM statuses WHERE account_id = ? ORDER BY id", bob)
    ).map((r) => r.id);
    // The tagged post is at home already, by its tag.
    expect(await feed()).toEqual([first]);

    await follow(me, bob, false);
    expect(await feed()).toEqual([first]);
    await db().prepare("UPDATE follows SET accepted = 1 WHERE target_account_id = ?").bind(bob).run();
    expect(await feed()).toEqual([first, ...all.slice(2)]);
    expect(await feed()).not.toContain(older[1]);

    // The follow ends: bob's posts leave, but for the one carrying a followed tag.
    await db().prepare("DELETE FROM follows WHERE target_account_id = ?").bind(bob).run();
    expect(await feed()).toEqual([first]);

    // A follow inserted accepted merges too; deleting it unmerges.
    const carols = await status(carol);
    await follow(me, carol, true);
    expect(await feed()).toEqual([first, carols]);
    await db().prepare("DELETE FROM follows WHERE target_account_id = ?").bind(carol).run();
    expect(await feed()).toEqual([first]);
  });

  it("takes public posts with a followed tag (not boosts, not other visibilities), merges and unmerges with the tag", async () => {
    const stranger = await account("stranger");
    const bob = await account("bob");
    await follow(me, bob, true);
    const before = await status(stranger, { tag: "cats" });
    await db().prepare("INSERT INTO followed_tags (name, id) VALUES ('cats', '1')").run();
    expect(await feed()).toEqual([before]);

    const tagged = await status(stranger, { tag: "cats" });
    await status(stranger, { tag: "cats", visibility: "unlisted" });
    await status(stranger, { tag: "dogs" });
    const bobsTagged = await status(bob, { tag: "cats" });
    expect(await feed()).toEqual([before, tagged, bobsTagged]);

    // Unfollowing the tag removes what only the tag brought; bob's post stays, as bob is followed.
    await db().prepare("DELETE FROM followed_tags WHERE name = 'cats'").run();
    expect(await feed()).toEqual([bobsTagged]);
  });

  it("leaves out a boost of an entry among the 40 above it (Mastodon's REBLOG_FALLOFF), not of an older one", async () => {
    const bob = await account("bob");
    const stranger = await account("stranger");
    await follow(me, bob, true);
    const old = await status(bob);
    for (let i = 0; i < 39; i++) await status(bob);
    const recent = await status(bob);
    const strangers = await status(stranger);
    // 41 entries above `old` now: a boost of it brings it back; one of `recent` is left out.
    const boostOld = await status(bob, { boostOf: old });
    const boostRecent = await status(me, { boostOf: recent });
    const boostStranger = await status(bob, { boostOf: strangers });
    const entries = await feed();
    expect(entries).toContain(boostOld);
    expect(entries).not.toContain(boostRecent);
    expect(entries).toContain(boostStranger);
  });
});

describe("migration 0009's backfill", () => {
  it("puts at home what belonged there: the owner's, accepted follows', public posts with a followed tag", async () => {
    await reset();
    await applyD1Migrations(
      env.DB,
      env.TEST_MIGRATIONS.filter((m) => m.name < "0009"),
    );
    me = (await owner()).id;
    const bob = await account("bob");
    const pending = await account("pending");
    const stranger = await account("stranger");
    await follow(me, bob, true);
    await follow(me, pending, false);
    await db().prepare("INSERT INTO followed_tags (name, id) VALUES ('cats', '1')").run();
    const mine = await status(me, { visibility: "direct" });
    const bobs = await status(bob, { visibility: "private" });
    await status(pending);
    const tagged = await status(stranger, { tag: "cats" });
    await status(stranger, { tag: "cats", visibility: "unlisted" });
    await status(stranger);
    const gone = await status(bob);
    await db()
      .prepare("UPDATE statuses SET deleted_at = '2026-02-01T00:00:00.000Z' WHERE id = ?")
      .bind(gone)
      .run();

    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    expect(await feed()).toEqual([mine, bobs, tagged]);
  });
});
