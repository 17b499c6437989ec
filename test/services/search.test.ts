import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { remoteAccount, remoteStatus } from "../helpers/api";
import { testCtx } from "../helpers/app";
import { rows } from "../helpers/inbox";
import { ftsQuery, parseHandle } from "../../worker/services/search";
import { htmlToPlain, indexStatuses, searchableText } from "../../worker/services/search-index";

describe("the search indexer", () => {
  it("indexes new statuses in bounded steps, remembering where it stopped", async () => {
    const bob = await remoteAccount("bob");
    for (let i = 0; i < 5; i++) await remoteStatus(bob, { content: `<p>post number${i}</p>` });
    const ctx = testCtx();
    expect(await indexStatuses(ctx, 2)).toBe(2);
    expect(await indexStatuses(ctx, 2)).toBe(2);
    expect(await indexStatuses(ctx, 2)).toBe(1);
    expect(await indexStatuses(ctx, 2)).toBe(0);
    const indexed = await rows<{ text: string }>("SELECT text FROM status_search ORDER BY rowid");
    expect(indexed.map((r) => r.text)).toEqual([0, 1, 2, 3, 4].map((i) => `post number${i}`));
  });

  it("indexes many rows in one step (multi-row statements) and re-indexes them all", async () => {
    const bob = await remoteAccount("bob");
    const insert = env.DB.prepare(
      "INSERT INTO statuses (id, uri, account_id, visibility, audience, content, published_at) VALUES (?, ?, ?, 'public', '{\"to\":[],\"cc\":[]}', ?, '2026-01-01')",
    );
    await env.DB.batch(
      Array.from({ length: 150 }, (_, i) =>
        insert.bind(String(1000 + i), `x:${i}`, bob.id, `<p>word${i} common</p>`),
      ),
    );
    const ctx = testCtx();
    expect(await indexStatuses(ctx, 500)).toBe(150);
    expect(await rows("SELECT rowid FROM status_search WHERE status_search MATCH 'common'")).toHaveLength(
      150,
    );
    expect(await rows("SELECT status_id FROM status_search WHERE status_search MATCH 'word149'")).toEqual([
      { status_id: "1149" },
    ]);
    // Every one edited (as status_edits records remote edits): all re-indexed, none duplicated.
    await env.DB.batch([
      ...Array.from({ length: 150 }, (_, i) =>
        env.DB.prepare(
          "INSERT INTO status_edits (id, status_id, content, created_at) VALUES (?, ?, '', '2026-01-02')",
        ).bind(String(900000 + i), String(1000 + i)),
      ),
      env.DB.prepare("UPDATE statuses SET content = '<p>changed</p>'"),
    ]);
    expect(await indexStatuses(ctx, 500)).toBe(150);
    expect(await rows("SELECT rowid FROM status_search WHERE status_search MATCH 'common'")).toEqual([]);
    expect(await rows("SELECT rowid FROM status_search WHERE status_search MATCH 'changed'")).toHaveLength(
      150,
    );
    expect(await rows("SELECT rowid FROM status_search")).toHaveLength(150);
  });

  it("indexes an old post that arrives late (ids follow publication time, the cursor does not)", async () => {
    const bob = await remoteAccount("bob");
    await remoteStatus(bob, { content: "<p>recent</p>" });
    const ctx = testCtx();
    await indexStatuses(ctx);
    await remoteStatus(bob, { content: "<p>ancient</p>", published: "2015-01-01T00:00:00Z" });
    expect(await indexStatuses(ctx)).toBe(1);
    expect(await rows("SELECT text FROM status_search WHERE status_search MATCH 'ancient'")).toHaveLength(1);
  });

  it("skips boosts and deleted statuses, and drops a status deleted after an edit", async () => {
    const bob = await remoteAccount("bob");
    const s = await remoteStatus(bob, { content: "<p>kept</p>" });
    await env.DB.prepare(
      "INSERT INTO statuses (id, uri, account_id, visibility, audience, reblog_of_id, published_at) VALUES ('5', 'x:boost', ?, 'public', '{\"to\":[],\"cc\":[]}', ?, '2026-01-01')",
    )
      .bind(bob.id, s.id)
      .run();
    const ctx = testCtx();
    expect(await indexStatuses(ctx)).toBe(1);
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO status_edits (id, status_id, content, created_at) VALUES ('99999999999999999', ?, '', '2026-01-01')",
      ).bind(s.id),
      env.DB.prepare("UPDATE statuses SET deleted_at = '2026-01-02' WHERE id = ?").bind(s.id),
    ]);
    expect(await indexStatuses(ctx)).toBe(0);
    expect(await rows("SELECT * FROM status_search")).toEqual([]);
  });

  it("builds the text from the warning, the text without markup, poll options and descriptions", () => {
    expect(
      searchableText({
        spoiler_text: "cw",
        content: '<p>a &amp; b<br>c <a href="https://x">#<span>tag</span></a></p><p>next</p>',
        poll: JSON.stringify({ options: [{ name: "yes" }, { name: "no" }] }),
        attachments: JSON.stringify([{ name: "a photo" }, {}]),
      }),
    ).toBe("cw\na & b\nc #tag\n\nnext\nyes\nno\na photo");
    expect(htmlToPlain("&lt;script&gt; &#x41;&#66;")).toBe("<script> AB");
  });

  it("quotes every term of a query", () => {
    expect(ftsQuery('fox "jumps" NEAR(x*')).toBe('"fox" """jumps""" "NEAR(x*"');
    expect(ftsQuery('  * " ( ')).toBeNull();
  });
});

describe("parseHandle", () => {
  it.each([
    ["@bob@remote.example", { username: "bob", domain: "remote.example" }],
    ["bob@Remote.Example", { username: "bob", domain: "remote.example" }],
    ["@bob", { username: "bob", domain: null }],
    ["@alice@127.0.0.1:8787", { username: "alice", domain: "127.0.0.1:8787" }],
    ["alice@social.example.com:8443", { username: "alice", domain: "social.example.com:8443" }],
  ])("reads %s", (q, expected) => {
    expect(parseHandle(q)).toEqual(expected);
  });

  it.each(["bob@", "@bob@remote", "bob@remote.example:port", "two words", "@bob@remote.example/path"])(
    "refuses %s",
    (q) => {
      expect(parseHandle(q)).toBeNull();
    },
  );
});
