import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { homeTimeline, homeTimelineSql } from "../../worker/services/timelines";
import { testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";

/**
 * The home timeline at scale: 100k statuses (most by 1,000 followed accounts, the rest by strangers,
 * with replies, boosts and direct messages mixed in). The query must walk the statuses' id index from
 * the top and stop after a page, not sort the table.
 */
describe("home timeline query plan", () => {
  it("walks the id index and answers a page of 40 quickly with 100k statuses and 1k follows", async () => {
    const me = await owner();
    const seq = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)`;
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
    await env.DB.prepare("ANALYZE").run();

    const ctx = testCtx();
    const { sql, params } = await homeTimelineSql(ctx, { limit: 40 });
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    console.log(plan.join("\n"));
    expect(plan.some((d) => /SCAN statuses USING INDEX sqlite_autoindex_statuses_1/.test(d))).toBe(true);
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
