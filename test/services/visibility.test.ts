import { describe, expect, it } from "vitest";
import { sql, type SQL } from "drizzle-orm";
import type { Account, Status } from "../../worker/db/client";
import {
  blocks,
  domainBlocks,
  favourites,
  follows,
  listAccounts,
  lists,
  mutes,
  notifications,
  statuses,
} from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { notify } from "../../worker/services/notifications";
import { publishNote } from "../../worker/services/post-publish";
import {
  accountHidden,
  blockedSql,
  directVisible,
  directVisibleSql,
  domainBlockedSql,
  domainIsBlocked,
  filterShown,
  hiddenAccountSql,
  isBlocked,
  isMuted,
  loadRelations,
  muteActive,
  muteActiveSql,
  mutedSql,
  onBlockedDomainSql,
  row,
  statusShownSql,
  withinDomainSql,
} from "../../worker/services/visibility";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { ACTOR, testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";

const PAST = "2001-01-01T00:00:00.000Z";
const FUTURE = "2999-01-01T00:00:00.000Z";

/** Evaluates a boolean fragment once per row of `from` (a FROM clause naming its rows `id`). */
async function evalSql(from: SQL, fragment: SQL): Promise<Map<string, boolean>> {
  const rows = await testCtx().db.all<{ id: string; v: number }>(
    sql`SELECT id, (${fragment}) AS v FROM ${from}`,
  );
  return new Map(rows.map((r) => [r.id, r.v === 1]));
}

/** Evaluates a boolean fragment on its own (no table). */
async function evalOne(fragment: SQL): Promise<boolean> {
  const [r] = await testCtx().db.all<{ v: number }>(sql`SELECT (${fragment}) AS v`);
  return r?.v === 1;
}

async function insertAccount(username: string, domain: string): Promise<string> {
  const id = newId();
  await testCtx().db.run(
    sql`INSERT INTO accounts (id, uri, username, domain, local) VALUES (${id}, ${`https://${domain}/users/${username}#${id}`}, ${username}, ${domain}, 0)`,
  );
  return id;
}

describe("domain blocks cover subdomains, in SQL and in memory alike", () => {
  const blocked = new Set(["example.com", "127.0.0.1"]);
  const cases: [string, boolean][] = [
    ["example.com", true],
    ["sub.example.com", true],
    ["a.b.example.com", true],
    ["Sub.Example.COM:8443", true],
    ["example.com:443", true],
    ["notexample.com", false],
    ["example.com.evil.org", false],
    ["example.co", false],
    ["com", false],
    ["", false],
    ["127.0.0.1:8787", true],
    ["10.127.0.0.1", true],
    ["[::1]:8080", false],
  ];

  it.each(cases)("%s → %s", async (domain, hidden) => {
    const db = testCtx().db;
    for (const d of blocked) await db.insert(domainBlocks).values({ domain: d, id: newId() });
    expect(domainIsBlocked(blocked, domain)).toBe(hidden);
    expect(await evalOne(domainBlockedSql(sql`${domain}`))).toBe(hidden);
    // The accounts a new block of example.com covers: the same rule with one domain.
    expect(await evalOne(withinDomainSql(sql`${domain}`, "example.com"))).toBe(
      domainIsBlocked(new Set(["example.com"]), domain),
    );
  });

  it("no domain blocked hides nothing", async () => {
    expect(domainIsBlocked(new Set(), "example.com")).toBe(false);
    expect(await evalOne(domainBlockedSql(sql`${"example.com"}`))).toBe(false);
  });
});

describe("mutes last until they expire", () => {
  it.each([
    [null, true],
    [PAST, false],
    [FUTURE, true],
  ])("expires_at %s → active %s", async (expiresAt, active) => {
    expect(muteActive(expiresAt, new Date().toISOString())).toBe(active);
    expect(await evalOne(muteActiveSql(sql`${expiresAt}`))).toBe(active);
  });
});

describe("hidden accounts: both forms give the same answers", () => {
  it("blocks beat mutes, mutes expire, notifications follow the mute's flag, the owner is never hidden", async () => {
    const ctx = testCtx();
    const me = await owner();
    const db = ctx.db;
    // The owner's own domain (example.com) blocked outright: the owner stays visible all the same.
    for (const d of ["example.com", "blocked.example"])
      await db.insert(domainBlocks).values({ domain: d, id: newId() });
    const a = {
      plain: await insertAccount("plain", "other.org"),
      sub: await insertAccount("sub", "sub.example.com"),
      deep: await insertAccount("deep", "a.b.blocked.example:8443"),
      lookalike: await insertAccount("lookalike", "notblocked.example"),
      blocked: await insertAccount("blocked", "other.org"),
      muted: await insertAccount("muted", "other.org"),
      mutedQuietly: await insertAccount("quiet", "other.org"),
      expired: await insertAccount("expired", "other.org"),
      until: await insertAccount("until", "other.org"),
      blockedAndMutedQuietly: await insertAccount("both", "other.org"),
    };
    await db.insert(blocks).values([
      { accountId: me.id, targetAccountId: a.blocked },
      { accountId: me.id, targetAccountId: a.blockedAndMutedQuietly },
      // A block of the owner by someone else hides no one from the owner.
      { accountId: a.plain, targetAccountId: me.id },
    ]);
    await db.insert(mutes).values([
      { targetAccountId: a.muted, id: newId() },
      { targetAccountId: a.mutedQuietly, id: newId(), notifications: false },
      { targetAccountId: a.expired, id: newId(), expiresAt: PAST },
      { targetAccountId: a.until, id: newId(), expiresAt: FUTURE },
      { targetAccountId: a.blockedAndMutedQuietly, id: newId(), notifications: false },
    ]);
    // [hidden, hidden from notifications]
    const expected = new Map<string, [boolean, boolean]>([
      [me.id, [false, false]],
      [a.plain, [false, false]],
      [a.sub, [true, true]],
      [a.deep, [true, true]],
      [a.lookalike, [false, false]],
      [a.blocked, [true, true]],
      [a.muted, [true, true]],
      [a.mutedQuietly, [true, false]],
      [a.expired, [false, false]],
      [a.until, [true, true]],
      [a.blockedAndMutedQuietly, [true, true]],
    ]);
    const from = sql.raw("accounts");
    const col = sql.raw("accounts.id");
    const [hidden, hiddenJoined, forNotifications, blockedCol, mutedCol, onDomain] = await Promise.all([
      evalSql(from, hiddenAccountSql(me.id, col)),
      evalSql(from, hiddenAccountSql(me.id, col, { domain: sql.raw("accounts.domain") })),
      evalSql(from, hiddenAccountSql(me.id, col, { notifications: true })),
      evalSql(from, blockedSql(me.id, col)),
      evalSql(from, mutedSql(col)),
      evalSql(from, onBlockedDomainSql(col)),
    ]);
    const r = await loadRelations(ctx);
    const domains = new Map(
      (await db.all<{ id: string; domain: string }>(sql`SELECT id, domain FROM accounts`)).map((x) => [
        x.id,
        x.domain,
      ]),
    );
    for (const [id, [h, hn]] of expected) {
      const account = { id, domain: domains.get(id) as string };
      const label = `${id} (${account.domain})`;
      expect([label, hidden.get(id), hiddenJoined.get(id)]).toEqual([label, h, h]);
      expect([label, accountHidden(r, account)]).toEqual([label, h]);
      expect([label, forNotifications.get(id), accountHidden(r, account, { notifications: true })]).toEqual([
        label,
        hn,
        hn,
      ]);
      expect([label, blockedCol.get(id)]).toEqual([label, isBlocked(r, id)]);
      expect([label, mutedCol.get(id)]).toEqual([label, isMuted(r, id)]);
      expect([label, onDomain.get(id)]).toEqual([label, domainIsBlocked(r.domains, account.domain)]);
    }
  });

  it("apply to relay_posts through their account_id", async () => {
    const me = await owner();
    await testCtx().db.insert(domainBlocks).values({ domain: "example.com", id: newId() });
    const visible = await insertAccount("v", "other.org");
    const hidden = await insertAccount("h", "relay.sub.example.com");
    for (const [id, accountId] of [
      ["r1", visible],
      ["r2", hidden],
    ])
      await testCtx().db.run(
        sql`INSERT INTO relay_posts (id, uri, account_id, relay_id, visibility, published_at)
          VALUES (${id}, ${`https://x/${id}`}, ${accountId}, 'relay', 'public', ${new Date().toISOString()})`,
      );
    const shown = await evalSql(
      sql.raw("relay_posts"),
      sql`NOT ${hiddenAccountSql(me.id, sql.raw("relay_posts.account_id"))}`,
    );
    expect(shown).toEqual(
      new Map([
        ["r1", true],
        ["r2", false],
      ]),
    );
  });
});

async function insertStatus(accountId: string, extra: Partial<typeof statuses.$inferInsert> = {}) {
  const id = newId();
  await testCtx()
    .db.insert(statuses)
    .values({
      id,
      uri: `https://x/statuses/${id}`,
      accountId,
      visibility: "public",
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
      ...extra,
    });
  return id;
}

describe("statuses: hidden authors and boosts of hidden originals, in both forms", () => {
  it("hides what a hidden account wrote and boosts of it, never the owner's own", async () => {
    const me = await owner();
    const db = testCtx().db;
    await db.insert(domainBlocks).values({ domain: "example.com", id: newId() });
    const friend = await insertAccount("friend", "other.org");
    const blockedOne = await insertAccount("blocked", "other.org");
    const sub = await insertAccount("sub", "sub.example.com");
    await db.insert(blocks).values({ accountId: me.id, targetAccountId: blockedOne });
    const mine = await insertStatus(me.id);
    const friends = await insertStatus(friend);
    const byBlocked = await insertStatus(blockedOne);
    const bySub = await insertStatus(sub);
    const gone = await insertStatus(friend, { deletedAt: PAST });
    const cases: [string, string, boolean][] = [
      ["the owner's post", mine, true],
      ["the owner's boost of a hidden post", await insertStatus(me.id, { reblogOfId: byBlocked }), true],
      ["a friend's post", friends, true],
      ["a blocked account's post", byBlocked, false],
      ["a post from a subdomain of a blocked domain", bySub, false],
      ["a boost by a blocked account", await insertStatus(blockedOne, { reblogOfId: friends }), false],
      [
        "a friend's boost of a blocked account's post",
        await insertStatus(friend, { reblogOfId: byBlocked }),
        false,
      ],
      ["a friend's boost of a subdomain's post", await insertStatus(friend, { reblogOfId: bySub }), false],
      ["a friend's boost of a friend's post", await insertStatus(friend, { reblogOfId: friends }), true],
      ["a friend's boost of the owner's post", await insertStatus(friend, { reblogOfId: mine }), true],
      ["a friend's boost of a deleted post", await insertStatus(friend, { reblogOfId: gone }), false],
      ["a friend's boost of a post never stored", await insertStatus(friend, { reblogOfId: "1" }), false],
    ];
    const inSql = await evalSql(sql.raw("statuses"), statusShownSql(me.id, row("statuses")));
    const rows = (await db.select().from(statuses)).filter((s) => s.deletedAt === null);
    const inMemory = new Set((await filterShown(testCtx(), rows)).map((s) => s.id));
    for (const [what, id, shown] of cases) {
      expect([what, inSql.get(id)]).toEqual([what, shown]);
      expect([what, inMemory.has(id)]).toEqual([what, shown]);
    }
  });
});

describe("direct posts: both forms give the same answers", () => {
  it("are seen by their author and whom they address: a mention, to or cc", async () => {
    const me = await owner();
    const other = await insertAccount("other", "other.org");
    const elsewhere = "https://other.org/users/someone";
    const cases: [string, Partial<typeof statuses.$inferInsert>, boolean][] = [
      ["a public post", { accountId: other }, true],
      ["a followers-only post to others", { accountId: other, visibility: "private" }, true],
      ["the owner's direct post", { accountId: me.id, visibility: "direct" }, true],
      [
        "a direct post mentioning the owner",
        { accountId: other, visibility: "direct", mentions: [{ uri: ACTOR, name: "@alice" }] },
        true,
      ],
      [
        "a direct post to the owner",
        { accountId: other, visibility: "direct", audience: { to: [ACTOR], cc: [] } },
        true,
      ],
      [
        "a direct post copying the owner",
        { accountId: other, visibility: "direct", audience: { to: [elsewhere], cc: [ACTOR] } },
        true,
      ],
      [
        "a direct post to someone else",
        {
          accountId: other,
          visibility: "direct",
          audience: { to: [elsewhere], cc: [] },
          mentions: [{ uri: elsewhere, name: "@someone" }],
        },
        false,
      ],
    ];
    const ids = new Map<string, string>();
    for (const [what, extra] of cases) ids.set(what, await insertStatus(other, extra));
    const inSql = await evalSql(sql.raw("statuses"), directVisibleSql(me, row("statuses")));
    const rows = new Map((await testCtx().db.select().from(statuses)).map((s) => [s.id, s]));
    for (const [what, , visible] of cases) {
      const id = ids.get(what) as string;
      expect([what, inSql.get(id)]).toEqual([what, visible]);
      expect([what, directVisible(me, rows.get(id) as Status)]).toEqual([what, visible]);
    }
  });
});

describe("notifications are not written from hidden senders", () => {
  it("drops those of blocked, muted and domain-blocked senders, keeps a quiet mute's", async () => {
    const me = await owner();
    const db = testCtx().db;
    await db.insert(domainBlocks).values({ domain: "example.com", id: newId() });
    const senders = {
      plain: await insertAccount("plain", "other.org"),
      sub: await insertAccount("sub", "sub.example.com"),
      blocked: await insertAccount("blocked", "other.org"),
      muted: await insertAccount("muted", "other.org"),
      quiet: await insertAccount("quiet", "other.org"),
      expired: await insertAccount("expired", "other.org"),
    };
    await db.insert(blocks).values({ accountId: me.id, targetAccountId: senders.blocked });
    await db.insert(mutes).values([
      { targetAccountId: senders.muted, id: newId() },
      { targetAccountId: senders.quiet, id: newId(), notifications: false },
      { targetAccountId: senders.expired, id: newId(), expiresAt: PAST },
    ]);
    for (const id of Object.values(senders))
      await notify(testCtx(), { type: "follow", fromAccountId: id, key: `follow-${id}` });
    const written = new Set((await db.select().from(notifications)).map((n) => n.fromAccountId));
    expect(written).toEqual(new Set([senders.plain, senders.quiet, senders.expired]));
  });
});

// ——— Every surface, one table: each way of hiding an account hides it everywhere. ———

type Hide = (me: Account, them: Account) => Promise<void>;

const hides: { how: string; hide: Hide; hidden: boolean; inNotifications: boolean; host?: string }[] = [
  {
    how: "example.com is blocked and they are on sub.example.com",
    host: "sub.example.com",
    hide: async () => {
      // Inserted as is: the API refuses a block of the owner's own domain, but the owner's own posts
      // must stay visible even then.
      await testCtx().db.insert(domainBlocks).values({ domain: "example.com", id: newId() });
    },
    hidden: true,
    inNotifications: true,
  },
  {
    how: "the owner blocks them",
    hide: async (me, them) => {
      await testCtx().db.insert(blocks).values({ accountId: me.id, targetAccountId: them.id });
    },
    hidden: true,
    inNotifications: true,
  },
  {
    how: "the owner mutes them",
    hide: async (_me, them) => {
      await testCtx().db.insert(mutes).values({ targetAccountId: them.id, id: newId() });
    },
    hidden: true,
    inNotifications: true,
  },
  {
    how: "the owner mutes them but not their notifications",
    hide: async (_me, them) => {
      await testCtx()
        .db.insert(mutes)
        .values({ targetAccountId: them.id, id: newId(), notifications: false });
    },
    hidden: true,
    inNotifications: false,
  },
  {
    how: "the owner's mute of them has expired",
    hide: async (_me, them) => {
      await testCtx().db.insert(mutes).values({ targetAccountId: them.id, id: newId(), expiresAt: PAST });
    },
    hidden: false,
    inNotifications: false,
  },
];

async function like(s: Status, by: Account) {
  const id = newId();
  await testCtx()
    .db.insert(favourites)
    .values({ id, accountId: by.id, statusId: s.id, uri: `${by.uri}/likes/${id}` });
}

async function boost(s: Status, by: Account): Promise<string> {
  return insertStatus(by.id, { uri: `${by.uri}/boosts/${s.id}`, reblogOfId: s.id });
}

const ids = (body: { id: string }[]) => body.map((x) => x.id);

describe.each(hides)("when $how", ({ hide, hidden, inNotifications, host }) => {
  it("every surface agrees on whether their posts show", async () => {
    const ctx = testCtx();
    const me = await owner();
    const token = await userToken();
    const found = { discoverable: true, indexable: true };
    const friend = await remoteAccount("friend", "other.org", found);
    const them = await remoteAccount("them", host ?? "elsewhere.org", found);
    const listId = newId();
    await ctx.db.insert(lists).values({ id: listId, title: "people", repliesPolicy: "list" });
    for (const a of [friend, them]) {
      await ctx.db.insert(follows).values({
        id: newId(),
        accountId: me.id,
        targetAccountId: a.id,
        uri: `${ACTOR}#f${a.id}`,
        accepted: true,
      });
      await ctx.db.insert(listAccounts).values({ listId, accountId: a.id });
    }
    const mine = await publishNote(ctx, { text: "a root post", visibility: "public" });
    const friendPost = await remoteStatus(friend, { content: "<p>zebra crossing</p>", tags: ["cats"] });
    const theirPost = await remoteStatus(them, {
      content: "<p>zebra stripes</p>",
      tags: ["cats", "theirtag"],
    });
    const friendReply = await remoteStatus(friend, { inReplyTo: mine.uri });
    const theirReply = await remoteStatus(them, { inReplyTo: mine.uri });
    await like(mine, friend);
    await like(mine, them);
    await like(friendPost, them);
    await like(theirPost, friend);
    await boost(mine, friend);
    await boost(mine, them);
    const friendBoostOfTheirs = await boost(theirPost, friend);
    for (const a of [friend, them])
      await ctx.db.insert(notifications).values({
        id: newId(),
        type: "favourite",
        fromAccountId: a.id,
        statusId: mine.id,
        groupKey: `favourite-${mine.id}`,
      });
    await hide(me, them);

    const get = async (path: string) => {
      const res = await api("GET", path, token);
      expect([path, res.status]).toEqual([path, 200]);
      return res.body;
    };
    // Each surface: [whether the friend's item shows, whether theirs does].
    const surfaces: Record<string, () => Promise<[boolean, boolean]>> = {
      home: async () => {
        const got = ids(await get("/api/v1/timelines/home"));
        expect(got).toContain(mine.id);
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      public: async () => {
        const got = ids(await get("/api/v1/timelines/public"));
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      tag: async () => {
        const got = ids(await get("/api/v1/timelines/tag/cats"));
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      list: async () => {
        const got = ids(await get(`/api/v1/timelines/list/${listId}`));
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      search: async () => {
        const got = ids((await get("/api/v2/search?q=zebra&type=statuses")).statuses);
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      "trending statuses": async () => {
        const got = ids(await get("/api/v1/trends/statuses"));
        return [got.includes(friendPost.id), got.includes(theirPost.id)];
      },
      "trending tags": async () => {
        const got = (await get("/api/v1/trends/tags")).map((t: { name: string }) => t.name);
        return [got.includes("cats"), got.includes("theirtag")];
      },
      context: async () => {
        const got = ids((await get(`/api/v1/statuses/${mine.id}/context`)).descendants);
        return [got.includes(friendReply.id), got.includes(theirReply.id)];
      },
      favourited_by: async () => {
        const got = ids(await get(`/api/v1/statuses/${mine.id}/favourited_by`));
        return [got.includes(friend.id), got.includes(them.id)];
      },
      reblogged_by: async () => {
        const got = ids(await get(`/api/v1/statuses/${mine.id}/reblogged_by`));
        return [got.includes(friend.id), got.includes(them.id)];
      },
      "a friend's boost of their post": async () => {
        const got = ids(await get(`/api/v1/accounts/${friend.id}/statuses`));
        return [got.includes(friendPost.id), got.includes(friendBoostOfTheirs)];
      },
    };
    for (const [surface, check] of Object.entries(surfaces))
      expect([surface, await check()]).toEqual([surface, [true, !hidden]]);
    const from = (await get("/api/v1/notifications")).map((n: { account: { id: string } }) => n.account.id);
    expect(["notifications", from.includes(friend.id), from.includes(them.id)]).toEqual([
      "notifications",
      true,
      !inNotifications,
    ]);
  });
});
