import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { follows, importJobs, importRows } from "../../../worker/db/schema";
import { findAccountByHandle } from "../../../worker/services/account-queries";
import { failedRows, importProgress } from "../../../worker/services/imports/jobs";
import { processImportChunk } from "../../../worker/services/imports/process";
import { invocationUsage, meterInvocation, type InvocationUsage } from "../../../worker/services/usage";
import { testCtx } from "../../helpers/app";
import { queuedDeliveries } from "../../helpers/deliveries";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { remotePeople, runToEnd, startImport } from "./helpers";

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const PEOPLE = ["ann", "bob", "cat", "dan", "eve", "fay", "gus"].map((n) => `${n}@b.example`);
const FOLLOWING_HEADER = "Account address,Show boosts,Notify on new posts,Languages\n";

async function ownerFollows(ctx: ReturnType<typeof testCtx>) {
  const { owner } = await ctx.instance();
  const rows = await ctx.db.select().from(follows).where(eq(follows.accountId, owner.id));
  return rows;
}

describe("a following import", { timeout: 30_000 }, () => {
  it("follows every account a chunk at a time, with the file's options, and names each failure", async () => {
    const ctx = testCtx();
    mockFetch(await remotePeople(PEOPLE));
    const deliveries = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const csv =
      FOLLOWING_HEADER +
      PEOPLE.map(
        (p, i) =>
          `${p},${i === 0 ? "false" : "true"},${i === 1 ? "true" : "false"},${i === 2 ? '"en, de"' : ""}`,
      ).join("\n") +
      "\nnobody@b.example,true,false,\nnot an address\n";
    const job = await startImport(ctx, "following", "merge", csv);
    expect(job.total).toBe(9);
    // Parsing settles what cannot be an address at once; the rest waits for the chunks.
    expect(await importProgress(ctx, job.id)).toEqual({ pending: 8, done: 0, failed: 1 });

    expect(await processImportChunk(ctx, job.id)).toBe("more");
    // A chunk takes what fits the invocation's budget: some of the rows, not all.
    const first = await importProgress(ctx, job.id);
    expect(first.done).toBeGreaterThan(0);
    expect(first.pending).toBeGreaterThan(0);
    await runToEnd(ctx, job.id);

    expect(await importProgress(ctx, job.id)).toEqual({ pending: 0, done: 7, failed: 2 });
    expect(await failedRows(ctx, job.id)).toEqual([
      {
        seq: 7,
        data: { acct: "nobody@b.example", showReblogs: true, notify: false, languages: null },
        reason: "Not found (https://b.example/.well-known/webfinger?resource=acct%3Anobody%40b.example)",
      },
      { seq: 8, data: { acct: "not an address" }, reason: "Not an account address (user@domain)" },
    ]);
    const rows = await ownerFollows(ctx);
    expect(rows).toHaveLength(7);
    const ann = await findAccountByHandle(ctx, "ann@b.example");
    const cat = await findAccountByHandle(ctx, "cat@b.example");
    expect(rows.find((f) => f.targetAccountId === ann?.id)).toMatchObject({
      showReblogs: false,
      notify: false,
    });
    expect(rows.find((f) => f.targetAccountId === cat?.id)).toMatchObject({ languages: ["en", "de"] });
    // One Follow for each, to the account's own inbox: POSTed from the chunk first, and (these
    // inboxes answer 404 here) handed to the delivery queue, which retries and keeps dead letters.
    const sent = queuedDeliveries(deliveries.mock.calls);
    expect(sent.map((d) => d.activity.type)).toEqual(Array(7).fill("Follow"));
    expect(sent.map((d) => d.inbox).sort()).toEqual(
      PEOPLE.map((p) => `https://b.example/users/${p.split("@")[0]}/inbox`).sort(),
    );
    const [stored] = await ctx.db.select().from(importJobs).where(eq(importJobs.id, job.id));
    expect(stored).toMatchObject({ phase: "finished", leaseUntil: null, cursor: 8 });
    expect(stored?.finishedAt).not.toBeNull();
    // A finished job runs no more.
    expect(await processImportChunk(ctx, job.id)).toBe("gone");
  });

  it("keeps each chunk of new accounts within the Free plan's 50 subrequests and 50 D1 queries", async () => {
    const setup = testCtx();
    await setup.instance();
    const people = Array.from({ length: 12 }, (_, i) => `p${i}@h${i}.example`);
    const fetches = mockFetch({
      ...(await remotePeople(people)),
      // Each Follow is POSTed from the chunk, to each account's own inbox.
      ...Object.fromEntries(
        people.map((p, i) => [
          `https://h${i}.example/users/p${i}/inbox`,
          () => new Response(null, { status: 202 }),
        ]),
      ),
    });
    const deliveries = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const job = await startImport(setup, "following", "merge", people.join("\n"));
    const chunks: { rows: number; subrequests: number; queries: number }[] = [];
    for (;;) {
      // A fresh Ctx each time, as each queue message gets.
      const ctx = testCtx();
      const before = { fetches: fetches.calls.length, done: (await importProgress(ctx, job.id)).done };
      let usage: InvocationUsage | undefined;
      let outcome = "";
      await meterInvocation(env, "queue", undefined, async () => {
        outcome = await processImportChunk(ctx, job.id);
        usage = { ...(invocationUsage() as InvocationUsage) };
      });
      const done = (await importProgress(ctx, job.id)).done;
      chunks.push({
        rows: done - before.done,
        // The meter sees queue sends; the mock, every fetch.
        subrequests: (usage?.subrequests ?? 0) + fetches.calls.length - before.fetches,
        queries: usage?.d1Queries ?? 0,
      });
      if (outcome === "finished") break;
    }
    console.log("chunks of new follows:", JSON.stringify(chunks));
    expect(chunks.reduce((n, c) => n + c.rows, 0)).toBe(12);
    for (const c of chunks) {
      expect(c.subrequests).toBeLessThanOrEqual(50);
      expect(c.queries).toBeLessThanOrEqual(50);
    }
    // Every Follow was delivered from the chunks: none went through the delivery queue.
    expect(fetches.calls.filter((r) => r.method === "POST")).toHaveLength(12);
    expect(deliveries).not.toHaveBeenCalled();
  });

  it("in overwrite mode unfollows whom the file does not hold, keeps whom it does, and follows the rest", async () => {
    const ctx = testCtx();
    mockFetch(await remotePeople(PEOPLE));
    // The owner follows ann and bob before the import.
    await runToEnd(ctx, (await startImport(ctx, "following", "merge", "ann@b.example\nbob@b.example\n")).id);
    const deliveries = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const job = await startImport(
      ctx,
      "following",
      "overwrite",
      `${FOLLOWING_HEADER}bob@b.example,false,false,\ncat@b.example,true,false,\n`,
    );
    expect(job.phase).toBe("overwrite");
    await runToEnd(ctx, job.id);
    const bob = await findAccountByHandle(ctx, "bob@b.example");
    const cat = await findAccountByHandle(ctx, "cat@b.example");
    const rows = await ownerFollows(ctx);
    expect(rows.map((f) => f.targetAccountId).sort()).toEqual([bob?.id, cat?.id].sort());
    expect(rows.find((f) => f.targetAccountId === bob?.id)?.showReblogs).toBe(false);
    const sent = queuedDeliveries(deliveries.mock.calls).map((d) => `${d.activity.type} ${d.inbox}`);
    // (Queued after the chunk's own POST found no inbox in the mock.) ann gets an Undo; bob's follow only changes its options, so nothing is sent to bob.
    expect(sent.sort()).toEqual([
      "Follow https://b.example/users/cat/inbox",
      "Undo https://b.example/users/ann/inbox",
    ]);
  });

  it("in merge mode keeps the follows the file does not hold", async () => {
    const ctx = testCtx();
    mockFetch(await remotePeople(PEOPLE));
    await runToEnd(ctx, (await startImport(ctx, "following", "merge", "ann@b.example\n")).id);
    await runToEnd(ctx, (await startImport(ctx, "following", "merge", "bob@b.example\n")).id);
    expect(await ownerFollows(ctx)).toHaveLength(2);
  });
});

describe("a job that crashes mid-chunk", { timeout: 30_000 }, () => {
  it("is held by its lease meanwhile, then resumes after the rows it settled, never redoing one", async () => {
    const ctx = testCtx();
    const fetches = mockFetch(await remotePeople(PEOPLE));
    const job = await startImport(ctx, "following", "merge", PEOPLE.join("\n"));
    // The invocation dies while the third row's settle is written: an exception nothing catches.
    let updates = 0;
    const update = ctx.db.update.bind(ctx.db);
    const spy = vi.spyOn(ctx.db, "update").mockImplementation((table) => {
      if (table === importRows && ++updates === 3) throw new Error("isolate terminated");
      return update(table);
    });
    await expect(processImportChunk(ctx, job.id)).rejects.toThrow("isolate terminated");
    spy.mockRestore();
    expect(await importProgress(ctx, job.id)).toEqual({ pending: 5, done: 2, failed: 0 });
    // Its lease still stands: a retry that comes at once leaves the job alone.
    expect(await processImportChunk(ctx, job.id)).toBe("busy");
    // The lease lapses (five minutes later); the next chunk takes over.
    await ctx.db
      .update(importJobs)
      .set({ leaseUntil: "2000-01-01T00:00:00.000Z" })
      .where(eq(importJobs.id, job.id));
    const before = fetches.calls.length;
    await runToEnd(ctx, job.id);
    expect(await importProgress(ctx, job.id)).toEqual({ pending: 0, done: 7, failed: 0 });
    const fetched = fetches.calls.slice(before).map((r) => r.url);
    // ann and bob, settled before the crash, are not looked at again; cat, whose work was done but
    // not settled, is found stored and its follow already there (so no second Follow).
    expect(fetched.some((u) => /\/(ann|bob)\b|acct%3A(ann|bob)/.test(u))).toBe(false);
    expect(fetched.some((u) => /acct%3Acat/.test(u))).toBe(false);
    const { owner } = await ctx.instance();
    const cat = await findAccountByHandle(ctx, "cat@b.example");
    const catFollows = await ctx.db
      .select()
      .from(follows)
      .where(and(eq(follows.accountId, owner.id), eq(follows.targetAccountId, cat?.id ?? "")));
    expect(catFollows).toHaveLength(1);
    expect(await ownerFollows(ctx)).toHaveLength(7);
  });
});

describe("the other kinds", { timeout: 30_000 }, () => {
  it("go through their services, and say why a row cannot be imported", async () => {
    const ctx = testCtx();
    const missing = "https://b.example/users/ann/statuses/404";
    mockFetch(await remotePeople(["ann@b.example", "bob@b.example"]));
    const run = async (kind: Parameters<typeof startImport>[1], csv: string) => {
      const job = await startImport(ctx, kind, "merge", csv);
      await runToEnd(ctx, job.id);
      return (await failedRows(ctx, job.id)).map((f) => f.reason);
    };
    const deliveries = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    expect(await run("following", "alice@example.com\n")).toEqual(["You cannot follow yourself"]);
    expect(await run("blocking", "bob@b.example\nalice@social.example.com\n")).toEqual([
      "You cannot block yourself",
    ]);
    expect(await run("domain_blocking", "spam.example\nexample.com\n")).toEqual([
      "You cannot block your own domain",
    ]);
    expect(await run("bookmarks", `${missing}\n`)).toEqual([`Not found (${missing})`]);
    // A list row follows whom it lists, as Mastodon does, then adds them.
    expect(await run("lists", "Friends,ann@b.example\n")).toEqual([]);
    const ann = await findAccountByHandle(ctx, "ann@b.example");
    expect((await ownerFollows(ctx)).map((f) => f.targetAccountId)).toEqual([ann?.id]);
    const sent = queuedDeliveries(deliveries.mock.calls).map((d) => `${d.activity.type} ${d.inbox}`);
    expect(sent).toEqual([
      "Block https://b.example/users/bob/inbox",
      "Follow https://b.example/users/ann/inbox",
    ]);
  });

  it("keep a chunk of list rows for new accounts, the costliest row, within 50 D1 queries", async () => {
    const setup = testCtx();
    await setup.instance();
    const people = Array.from({ length: 6 }, (_, i) => `p${i}@h${i}.example`);
    mockFetch(await remotePeople(people));
    const job = await startImport(
      setup,
      "lists",
      "merge",
      people.map((p, i) => `List ${i % 2},${p}`).join("\n"),
    );
    const ctx = testCtx();
    let usage: InvocationUsage | undefined;
    await meterInvocation(env, "queue", undefined, async () => {
      await processImportChunk(ctx, job.id);
      usage = { ...(invocationUsage() as InvocationUsage) };
    });
    const progress = await importProgress(ctx, job.id);
    console.log(`one chunk of list rows: ${progress.done} rows, ${usage?.d1Queries} D1 queries`);
    expect(progress.done).toBeGreaterThan(0);
    expect(usage?.d1Queries).toBeLessThanOrEqual(50);
  });
});

describe("bookmark rows", { timeout: 30_000 }, () => {
  it("fetch a post Perch has not seen, and its author, within the chunk's 50 D1 queries", async () => {
    const setup = testCtx();
    await setup.instance();
    const authors = Array.from({ length: 4 }, (_, i) => `p${i}@h${i}.example`);
    const notes: Record<string, () => Response> = {};
    for (let i = 0; i < authors.length; i++) {
      const id = `https://h${i}.example/users/p${i}/statuses/1`;
      notes[id] = () =>
        activityJson({
          "@context": "https://www.w3.org/ns/activitystreams",
          id,
          type: "Note",
          attributedTo: `https://h${i}.example/users/p${i}`,
          content: "<p>Hi</p>",
          published: "2026-11-30T10:00:00Z",
          to: ["https://www.w3.org/ns/activitystreams#Public"],
        });
    }
    mockFetch({ ...(await remotePeople(authors)), ...notes });
    const job = await startImport(setup, "bookmarks", "merge", Object.keys(notes).join("\n"));
    const ctx = testCtx();
    let usage: InvocationUsage | undefined;
    await meterInvocation(env, "queue", undefined, async () => {
      await processImportChunk(ctx, job.id);
      usage = { ...(invocationUsage() as InvocationUsage) };
    });
    const progress = await importProgress(ctx, job.id);
    console.log(`one chunk of bookmark rows: ${progress.done} rows, ${usage?.d1Queries} D1 queries`);
    expect(progress.done).toBeGreaterThan(0);
    expect(progress.failed).toBe(0);
    expect(usage?.d1Queries).toBeLessThanOrEqual(50);
  });
});

describe("an overwrite step", { timeout: 30_000 }, () => {
  it("removes what fits within the chunk's 50 D1 queries", async () => {
    const ctx = testCtx();
    mockFetch(await remotePeople(PEOPLE));
    await runToEnd(ctx, (await startImport(ctx, "following", "merge", PEOPLE.join("\n"))).id);
    const job = await startImport(ctx, "following", "overwrite", "ann@b.example\n");
    let usage: InvocationUsage | undefined;
    const fresh = testCtx();
    await meterInvocation(env, "queue", undefined, async () => {
      await processImportChunk(fresh, job.id);
      usage = { ...(invocationUsage() as InvocationUsage) };
    });
    const left = await ownerFollows(ctx);
    console.log(
      `one overwrite step: ${PEOPLE.length - left.length} unfollows, ${usage?.d1Queries} D1 queries`,
    );
    expect(left.length).toBeLessThan(PEOPLE.length);
    expect(usage?.d1Queries).toBeLessThanOrEqual(50);
    await runToEnd(ctx, job.id);
    expect((await ownerFollows(ctx)).length).toBe(1);
  });
});
