import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { homeTimeline, homeTimelineSql, timelineSql } from "../../worker/services/timelines";
import { testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";

const seq = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)`;

/**
 * 100k statuses (most by 1,000 followed accounts, the rest by strangers, with replies, boosts and
 * direct messages mixed in), over accounts on r0.example … r49.example.
 */
async function seed() {
  const me = await owner();
  await env.DB.prepare(
    `INSERT INTO accounts (id, uri, username, domain, local)
     ${seq} SELECT printf('1%017d', x), 'https://r' || (x % 50) || '.example/users/u' || x, 'u' || x, 'r' || (x % 50) || '.example', 0 FROM c`,
  )
    .bind(1500)
    .run();
  await env.DB.prepare(
    `INSERT INTO follows (id, account_id, target_account_id, uri, accepted)
     ${seq} SELECT printf('2%017d', x), ?, printf('1%017d', x), 'https://f/' || x, 1 FROM c`,
  )
    .bind(1000, me.id)
    .run();
  // Status x: by account (x % 1500) + 1; every 10th a reply to a stranger, every 20th a boost,
  // every 50th direct. Ids grow with x.
  await env.DB.prepare(
    `INSERT INTO statuses (id, uri, account_id, local, visibility, content, audience, published_at,
       in_reply_to_uri, in_reply_to_account_id, reblog_of_id)
     ${seq} SELECT printf('3%017d', x), 'https://s/' || x, printf('1%017d', (x % 1500) + 1), 0,
       CASE WHEN x % 50 = 0 THEN 'direct' ELSE 'public' END, '<p>post ' || x || '</p>',
       '{"to":[],"cc":[]}', '2026-01-01T00:00:00.000Z',
       CASE WHEN x % 10 = 0 THEN 'https://s/' || (x - 1) END,
       CASE WHEN x % 10 = 0 THEN printf('1%017d', 1400) END,
       CASE WHEN x % 20 = 5 THEN printf('3%017d', x - 3) END
     FROM c`,
  )
    .bind(100_000)
    .run();
}

/**
 * The home timeline at scale: 100k statuses (most by 1,000 followed accounts, the rest by strangers,
 * with replies, boosts and direct messages mixed in). The query must walk the statuses' id index from
 * the top and stop after a page, not sort the table.
 */
describe("home timeline query plan", () => {
  it("walks the id index and answers a page of 40 quickly with 100k statuses and 1k follows", async () => {
    await seed();
    await env.DB.prepare("ANALYZE").run();

    const ctx = testCtx();
    const { sql, params } = await homeTimelineSql(ctx, { limit: 40 });
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    console.log(plan.join("\n"));
    // The feed's entries newest first, each status by its primary key; never a sort.
    expect(plan.slice(0, 2)).toEqual([
      "SCAN home_feed",
      "SEARCH statuses USING INDEX sqlite_autoindex_statuses_1 (id=?)",
    ]);
    expect(plan.some((d) => /TEMP B-TREE FOR ORDER BY/.test(d))).toBe(false);

    const times: number[] = [];
    let pageIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const rows = await homeTimeline(ctx, { limit: 40 });
      times.push(performance.now() - t);
      pageIds = rows.map((r) => r.id);
    }
    times.sort((a, b) => a - b);
    const p95 = times[Math.floor(times.length * 0.95) - 1] as number;
    console.log(`home timeline, 40 items: median ${times[10]?.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
    expect(pageIds).toHaveLength(40);
    expect(p95).toBeLessThan(100);

    const deep = performance.now();
    const older = await homeTimeline(ctx, { limit: 40, maxId: "300000000000050000" });
    console.log(`home timeline at max_id (middle): ${(performance.now() - deep).toFixed(1)} ms`);
    expect(older).toHaveLength(40);
  }, 120_000);
});

/**
 * Blocks, mutes and blocked domains (subdomains included) must not change how the timelines walk
 * `statuses`, nor make a page read rows in proportion to the length of the domain block list: each
 * row probes domain_blocks once per label of its author's domain.
 */
interface Measured {
  rowsRead: number;
  ids: string[];
  plan: string[];
}

describe("timeline query plans with hidden accounts", () => {
  it("walk the same indexes and read about as many rows with 1 or 1,000 blocked domains", async () => {
    await seed();
    const me = await owner();
    await env.DB.prepare(
      `INSERT INTO status_tags (name, status_id) ${seq} SELECT 'cats', printf('3%017d', x * 3) FROM c`,
    )
      .bind(30_000)
      .run();
    await env.DB.prepare(`INSERT INTO lists (id, title) VALUES ('9', 'friends')`).run();
    await env.DB.prepare(
      `INSERT INTO list_accounts (list_id, account_id) ${seq} SELECT '9', printf('1%017d', x * 3) FROM c`,
    )
      .bind(300)
      .run();
    await env.DB.prepare(
      `INSERT INTO blocks (account_id, target_account_id) ${seq} SELECT ?, printf('1%017d', x * 97) FROM c`,
    )
      .bind(10, me.id)
      .run();
    await env.DB.prepare(
      `INSERT INTO mutes (target_account_id, id) ${seq} SELECT printf('1%017d', x * 89), 'm' || x FROM c`,
    )
      .bind(10)
      .run();
    // Every 7th account lives on a subdomain (a.sub.r7.example …), which its parent's block covers.
    await env.DB.prepare(
      "UPDATE accounts SET domain = 'a.sub.' || domain WHERE local = 0 AND CAST(substr(id, 2) AS INTEGER) % 7 = 0",
    ).run();
    await env.DB.prepare("ANALYZE").run();
    const ctx = testCtx();
    const page = { limit: 40 };
    const queries = {
      home: () => timelineSql.home(ctx, page),
      public: () => timelineSql.public(ctx, page),
      tag: () => timelineSql.tag(ctx, "cats", page),
      list: () => timelineSql.list(ctx, { id: "9", repliesPolicy: "list" }, page),
    };
    const blockDomains = async (n: number) => {
      await env.DB.prepare("DELETE FROM domain_blocks").run();
      // The first covers r7.example and its subdomains; the others match no account.
      await env.DB.prepare(
        `INSERT INTO domain_blocks (domain, id) ${seq} SELECT CASE WHEN x = 1 THEN 'r7.example' ELSE 'blocked' || x || '.test' END, 'd' || x FROM c`,
      )
        .bind(n)
        .run();
    };
    const measure = async () => {
      const out: Record<string, Measured> = {};
      for (const [name, build] of Object.entries(queries)) {
        const { sql, params } = await build();
        const res = await env.DB.prepare(sql)
          .bind(...params)
          .raw();
        const meta = await env.DB.prepare(sql)
          .bind(...params)
          .run();
        const plan = (
          await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
            .bind(...params)
            .all<{ detail: string }>()
        ).results.map((r) => r.detail);
        out[name] = { rowsRead: meta.meta.rows_read, ids: res.map((r) => String(r[0])), plan };
      }
      return out;
    };
    const none = await measure();
    await blockDomains(1);
    const one = await measure();
    await blockDomains(1000);
    const many = await measure();
    for (const name of Object.keys(queries)) {
      const [n, o, m] = [none, one, many].map((x) => x[name] as Measured) as [Measured, Measured, Measured];
      console.log(
        `${name}: rows read ${n.rowsRead} with no blocked domain, ${o.rowsRead} with 1, ${m.rowsRead} with 1,000`,
      );
      expect([name, m.ids]).toEqual([name, o.ids]);
      expect(o.ids).toHaveLength(40);
      // The same plan whatever the list holds, and never a scan of all accounts.
      expect([name, m.plan]).toEqual([name, o.plan]);
      expect([name, o.plan.some((d) => /SCAN (accounts|vis_a)\b/.test(d))]).toEqual([name, false]);
      expect([name, m.rowsRead <= o.rowsRead * 1.05]).toEqual([name, true]);
      // A blocked domain costs each tested row its author's row and a probe per label of its domain:
      // a few rows, not a row per blocked domain. Home, public and tag test about their page (40 rows
      // and the originals of boosts); the list walks the feed past other accounts' entries, each
      // reading its entry and its status, and tests each.
      const testedRows = name === "list" ? n.rowsRead / 2 : 80;
      const tested = o.rowsRead - n.rowsRead <= 5 * testedRows;
      expect([name, tested]).toEqual([name, true]);
    }
    for (const name of ["home", "public"] as const) {
      const plan = (one[name] as Measured).plan;
      expect(plan[0]).toMatch(
        name === "home" ? /^SCAN home_feed$/ : /SCAN statuses USING INDEX sqlite_autoindex_statuses_1/,
      );
      expect(plan.some((d) => /TEMP B-TREE FOR ORDER BY/.test(d))).toBe(false);
    }
    // No page holds a post by an account on r7.example or one of its subdomains.
    for (const [name, { ids }] of Object.entries(many)) {
      const { results } = await env.DB.prepare(
        `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id
         WHERE s.id IN (${ids.map(() => "?").join(",")}) AND (a.domain = 'r7.example' OR a.domain LIKE '%.r7.example')`,
      )
        .bind(...ids)
        .all<{ n: number }>();
      expect([name, results[0]?.n]).toEqual([name, 0]);
    }
  }, 180_000);
});
