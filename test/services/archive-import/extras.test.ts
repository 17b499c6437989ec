/**
 * The rest of a Mastodon archive after its posts: boosts (Announce items), likes.json and
 * bookmarks.json re-linked by URI against a peer served by the fetch mock, actor.json kept for the
 * owner's decision, the announce option, and the archive deleted from R2 once nothing needs it.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { d1Usage } from "../../../worker/db/metered";
import {
  accounts,
  archiveImports,
  archivePosts,
  archiveRelinks,
  bookmarks,
  favourites,
  follows,
  notifications,
  statuses,
} from "../../../worker/db/schema";
import { newId } from "../../../worker/lib/ids";
import { resumeImports } from "../../../worker/queues/import-consumer";
import { storeActor } from "../../../worker/services/accounts";
import { applyArchivedProfile } from "../../../worker/services/archive-import/actor";
import { discardImport, setAnnounce } from "../../../worker/services/archive-import/jobs";
import { importReport } from "../../../worker/services/archive-import/report";
import { runImportChunk } from "../../../worker/services/archive-import/run";
import { testCtx } from "../../helpers/app";
import { queuedDeliveries } from "../../helpers/deliveries";
import { activityJson, mockFetch, restoreFetch, type FetchMock } from "../../helpers/fetch-mock";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import {
  OLD,
  PNG,
  PUBLIC,
  actorJson,
  boostOf,
  create,
  outbox,
  queuedImport,
  uriCollection,
  zipOf,
} from "./archive";

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const CAROL = "https://peer.example/users/carol";
const note = (n: number) => `${CAROL}/statuses/${n}`;

/** A peer with carol and her public notes 1-3; note 9 is gone, 7 is private, 6 is down, 8 unknown. */
async function peer(): Promise<{ carol: RemoteActor; mock: FetchMock }> {
  const carol = await createRemoteActor(CAROL);
  const doc = (n: number) => ({
    "@context": "https://www.w3.org/ns/activitystreams",
    id: note(n),
    type: "Note",
    attributedTo: CAROL,
    content: `<p>Carol's note ${n}</p>`,
    published: "2021-03-01T12:00:00Z",
    to: [PUBLIC],
    cc: [`${CAROL}/followers`],
    url: `https://peer.example/@carol/${n}`,
  });
  const mock = mockFetch({
    [CAROL]: () => activityJson(carol.document),
    [note(1)]: () => activityJson(doc(1)),
    [note(2)]: () => activityJson(doc(2)),
    [note(3)]: () => activityJson(doc(3)),
    [note(9)]: () => new Response("gone", { status: 410 }),
    [note(7)]: () => new Response("forbidden", { status: 403 }),
    [note(6)]: () => new Response("down", { status: 503 }),
  });
  return { carol, mock };
}

/** Runs a job to its end, keeping the largest number of queries and fetches one invocation made. */
async function runAll(id: string, mock?: FetchMock) {
  const results: string[] = [];
  let queries = 0;
  let fetches = 0;
  for (let i = 0; i < 100; i++) {
    const q = d1Usage.queries;
    const f = mock?.calls.length ?? 0;
    const r = await runImportChunk(testCtx(), id);
    queries = Math.max(queries, d1Usage.queries - q);
    fetches = Math.max(fetches, (mock?.calls.length ?? 0) - f);
    results.push(r);
    if (r !== "more") return { results, queries, fetches };
  }
  throw new Error("the import did not end");
}

const relinkArchive = () =>
  zipOf({
    "outbox.json": outbox([
      create(1),
      create(2),
      boostOf(3, note(1), "2022-05-02T08:00:00Z"),
      boostOf(4, `${OLD}/statuses/1`),
      boostOf(5, note(9)),
    ]),
    "likes.json": uriCollection("likes.json", [
      note(2),
      `${OLD}/statuses/2`,
      note(9),
      "ftp://x.example/y",
      note(7),
    ]),
    "bookmarks.json": uriCollection("bookmarks.json", [note(3), note(8), note(2)]),
  });

async function statusOf(uri: string) {
  const ctx = testCtx();
  const own = (await ctx.db.select().from(archivePosts).where(eq(archivePosts.oldUri, uri)))[0];
  const where = own ? eq(statuses.id, own.statusId) : eq(statuses.uri, uri);
  const s = (await ctx.db.select().from(statuses).where(where))[0];
  if (!s) throw new Error(`no status for ${uri}`);
  return s;
}

describe("re-linking an archive's boosts, likes and bookmarks", () => {
  it("boosts, likes and bookmarks remote and own posts quietly, and reports each one it could not", async () => {
    const { mock } = await peer();
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const id = await queuedImport(await relinkArchive());
    const run = await runAll(id, mock);
    expect(run.results.at(-1)).toBe("done");
    const ctx = testCtx();
    const { owner } = await ctx.instance();

    // Boosts: carol's note (fetched from the peer) and the owner's own imported post, each dated as
    // the original boost, its id from that date.
    const boosts = await ctx.db.select().from(statuses).where(eq(statuses.accountId, owner.id));
    const reblogs = boosts.filter((s) => s.reblogOfId);
    expect(reblogs).toHaveLength(2);
    const remote = await statusOf(note(1));
    const ofCarol = reblogs.find((s) => s.reblogOfId === remote.id);
    expect(ofCarol?.publishedAt).toBe("2022-05-02T08:00:00.000Z");
    expect(BigInt(ofCarol!.id) >> 16n).toBe(BigInt(Date.parse("2022-05-02T08:00:00Z")));
    expect(ofCarol?.uri).toBe(`https://social.example.com/users/alice/statuses/${ofCarol!.id}/activity`);
    expect(ofCarol?.visibility).toBe("public");
    expect(ofCarol?.audience.cc).toContain(CAROL);
    const ownPost = await statusOf(`${OLD}/statuses/1`);
    expect(reblogs.some((s) => s.reblogOfId === ownPost.id)).toBe(true);
    expect((await statusOf(note(1))).reblogsCount).toBe(1);

    // Likes and bookmarks.
    const liked = await ctx.db.select().from(favourites);
    expect(liked.map((f) => f.statusId).sort()).toEqual(
      [(await statusOf(note(2))).id, (await statusOf(`${OLD}/statuses/2`)).id].sort(),
    );
    expect((await statusOf(note(2))).favouritesCount).toBe(1);
    const marked = await ctx.db.select().from(bookmarks);
    expect(marked.map((b) => b.statusId).sort()).toEqual(
      [(await statusOf(note(3))).id, (await statusOf(note(2))).id].sort(),
    );

    // Quiet: nothing queued for delivery, no one notified, only GETs went out (no Like, no Announce).
    expect(sendBatch).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    expect(await ctx.db.select().from(notifications)).toEqual([]);
    expect(mock.calls.every((r) => r.method === "GET")).toBe(true);

    const report = await importReport(ctx, id);
    expect(report).toMatchObject({
      state: "done",
      posts: { imported: 2 },
      boosts: { imported: 2, skipped: 1 },
      likes: { imported: 2, skipped: 3 },
      bookmarks: { imported: 2, skipped: 1 },
      relinks: { already: 0, pending: 0 },
    });
    const reasons = report!.skips.map((s) => [s.kind, s.ref, s.reason]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        ["boost", note(9), "the post is gone (HTTP 410)"],
        ["like", note(9), "the post is gone (HTTP 410)"],
        ["like", "ftp://x.example/y", "not an http(s) URI"],
        ["like", note(7), "the post is not public (HTTP 403)"],
        ["bookmark", note(8), "the post was not found (HTTP 404)"],
      ]),
    );
    expect(reasons).toHaveLength(5);
    expect(await ctx.db.select().from(archiveRelinks)).toEqual([]);

    // Within the Free plan's per-invocation budgets.
    expect(run.queries).toBeLessThanOrEqual(50);
    expect(run.fetches).toBeLessThanOrEqual(50);
  });

  it("never makes a boost, like or bookmark twice when the same archive is imported again", async () => {
    const { mock } = await peer();
    const bytes = await relinkArchive();
    await runAll(await queuedImport(bytes), mock);
    const second = await queuedImport(bytes);
    expect((await runAll(second, mock)).results.at(-1)).toBe("done");
    const ctx = testCtx();
    expect((await ctx.db.select().from(statuses)).filter((s) => s.reblogOfId)).toHaveLength(2);
    expect(await ctx.db.select().from(favourites)).toHaveLength(2);
    expect(await ctx.db.select().from(bookmarks)).toHaveLength(2);
    expect(await importReport(ctx, second)).toMatchObject({
      boosts: { imported: 0 },
      likes: { imported: 0 },
      bookmarks: { imported: 0 },
      relinks: { already: 6, pending: 0 },
    });
  });

  it("tries a post whose server is down again later, three times, then reports it", async () => {
    const { mock } = await peer();
    const id = await queuedImport(
      await zipOf({
        "outbox.json": outbox([create(1)]),
        "likes.json": uriCollection("likes.json", [note(6), note(2)]),
      }),
    );
    const send = vi.spyOn(env.IMPORT_QUEUE, "send").mockResolvedValue(undefined as never);
    for (let attempt = 1; attempt <= 2; attempt++) {
      // The job waits (no message) until the relink's time comes and the cron resumes it.
      expect((await runAll(id, mock)).results.at(-1)).toBe("waiting");
      expect(mock.calls.filter((r) => r.url === note(6))).toHaveLength(attempt);
      const [row] = await testCtx().db.select().from(archiveRelinks);
      expect(Date.parse(row!.retryAt!)).toBeGreaterThan(Date.now() + 4 * 60_000);
      await testCtx().db.run(`UPDATE archive_relinks SET retry_at = '2020-01-01T00:00:00.000Z'` as never);
      await testCtx().db.run(`UPDATE archive_imports SET updated_at = '2020-01-01T00:00:00.000Z'` as never);
      expect(await resumeImports(testCtx())).toBe(1);
      expect(send).toHaveBeenLastCalledWith({ v: 1, kind: "archive", importId: id }, { contentType: "json" });
    }
    expect((await runAll(id, mock)).results.at(-1)).toBe("done");
    expect(mock.calls.filter((r) => r.url === note(6))).toHaveLength(3);
    const report = await importReport(testCtx(), id);
    // The other like was not held up by it.
    expect(report?.likes).toEqual({ imported: 1, skipped: 1 });
    expect(report?.skips[0]?.reason).toMatch(/^the post's server did not answer after 3 tries/);
  });
});

describe("the old profile in actor.json", () => {
  const profileArchive = () =>
    zipOf({
      "outbox.json": outbox([create(1)]),
      "actor.json": actorJson(),
      "avatar.png": PNG,
      "header.png": PNG,
    });

  it("is kept for the owner's decision and applied only when asked, with its images and an Update", async () => {
    const ctx = testCtx();
    const before = (await ctx.instance()).owner;
    const id = await queuedImport(await profileArchive());
    expect((await runAll(id)).results.at(-1)).toBe("done");

    // Nothing changed yet: the old profile waits on the job, its images staged out of the archive.
    const unchanged = (await ctx.db.select().from(accounts).where(eq(accounts.id, before.id)))[0];
    expect([unchanged?.displayName, unchanged?.note, unchanged?.avatarUrl]).toEqual([
      before.displayName,
      before.note,
      before.avatarUrl,
    ]);
    const report = await importReport(ctx, id);
    expect(report?.profile.state).toBe("pending");
    expect(report?.profile.old).toMatchObject({
      name: "Alice of Old",
      avatarKey: `imports/${id}/avatar.png`,
      headerKey: `imports/${id}/header.png`,
    });
    expect(report?.profile.old?.bio).not.toContain("script");
    expect(report?.profile.old?.fields.map((f) => f.name)).toEqual(["Site", "Pronouns"]);
    expect(await env.MEDIA.head(`imports/${id}/avatar.png`)).not.toBeNull();

    // A follower, to see the Update go out.
    const carol = await createRemoteActor(CAROL);
    const account = await storeActor(ctx, carol.document);
    await ctx.db.insert(follows).values({
      id: newId(),
      accountId: account.id,
      targetAccountId: before.id,
      uri: "https://peer.example/follows/1",
      accepted: true,
    });
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const after = await applyArchivedProfile(ctx, id);
    expect(after.displayName).toBe("Alice of Old");
    expect(after.note).toContain("Bird watcher");
    expect(after.note).not.toContain("script");
    expect(after.fields.map((f) => f.name)).toEqual(["Site", "Pronouns"]);
    expect(after.fields[0]?.value).toContain('href="https://alice.example/"');
    const avatarKey = after.avatarUrl!.split("/media/")[1]!;
    expect(avatarKey).toMatch(/^profile\/avatar-\d+\.png$/);
    expect(new Uint8Array(await (await env.MEDIA.get(avatarKey))!.arrayBuffer())).toEqual(PNG);
    expect(after.headerUrl).toMatch(/\/media\/profile\/header-\d+\.png$/);
    const sent = queuedDeliveries(sendBatch.mock.calls);
    expect(sent.map((d) => [d.inbox, d.activity.type])).toEqual([["https://peer.example/inbox", "Update"]]);
    // The staged images are gone; the choice is made once.
    expect((await env.MEDIA.list({ prefix: `imports/${id}/` })).objects).toEqual([]);
    expect((await importReport(ctx, id))?.profile.state).toBe("applied");
    await expect(applyArchivedProfile(ctx, id)).rejects.toThrow("decided already");
  });

  it("reports images it cannot take, and an actor.json that is not an actor", async () => {
    const id = await queuedImport(
      await zipOf({
        "outbox.json": outbox([create(1)]),
        "actor.json": actorJson(),
        "avatar.png": "not an image",
      }),
    );
    await runAll(id);
    const report = await importReport(testCtx(), id);
    expect(report?.profile.old).toMatchObject({ avatarKey: null, headerKey: null });
    expect(report?.skips.map((s) => [s.kind, s.ref, s.reason])).toEqual([
      ["profile", "avatar.png", "the avatar is not an image Perch accepts"],
      ["profile", "header.png", "the header is not in the archive"],
    ]);
    const broken = await queuedImport(
      await zipOf({ "outbox.json": outbox([create(2)]), "actor.json": "[1" }),
    );
    await runAll(broken);
    const r2 = await importReport(testCtx(), broken);
    expect(r2?.profile).toMatchObject({ state: null, old: null, skipped: 1 });
  });
});

describe("announcing an import, and the upload's end", () => {
  const posts = () =>
    zipOf({
      "outbox.json": outbox([
        create(1),
        create(2, {}, "unlisted"),
        create(3, {}, "private"),
        create(4, {}, "direct"),
      ]),
    });

  async function follower() {
    const ctx = testCtx();
    const carol = await createRemoteActor(CAROL);
    const account = await storeActor(ctx, carol.document);
    const { owner } = await ctx.instance();
    await ctx.db.insert(follows).values({
      id: newId(),
      accountId: account.id,
      targetAccountId: owner.id,
      uri: "https://peer.example/follows/1",
      accepted: true,
    });
  }

  it("delivers the public and unlisted posts as Create to the followers when the owner asked", async () => {
    await follower();
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const id = await queuedImport(await posts());
    await setAnnounce(testCtx(), id, true);
    expect((await runAll(id)).results.at(-1)).toBe("done");
    const sent = queuedDeliveries(sendBatch.mock.calls);
    expect(sent.map((d) => [d.inbox, d.activity.type])).toEqual([
      ["https://peer.example/inbox", "Create"],
      ["https://peer.example/inbox", "Create"],
    ]);
    const contents = sent.map((d) => d.activity.object.content).sort();
    expect(contents).toEqual(["<p>Post 1</p>", "<p>Post 2</p>"]);
    expect(sent[0]?.activity.proof).toBeDefined();
    expect((await importReport(testCtx(), id))?.announce).toEqual({ enabled: true, delivered: 2 });
    await expect(setAnnounce(testCtx(), id, false)).rejects.toThrow("can no longer be announced");
  });

  it("delivers nothing by default, even with followers", async () => {
    await follower();
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const id = await queuedImport(await posts());
    await runAll(id);
    expect(sendBatch).not.toHaveBeenCalled();
    expect((await importReport(testCtx(), id))?.announce).toEqual({ enabled: false, delivered: 0 });
  });

  it("deletes the uploaded archive once done, keeping the job and its report", async () => {
    const id = await queuedImport(await posts());
    const key = `imports/${id}.zip`;
    expect(await env.MEDIA.head(key)).not.toBeNull();
    await runAll(id);
    expect(await env.MEDIA.head(key)).toBeNull();
    const report = await importReport(testCtx(), id);
    expect(report).toMatchObject({ state: "done", posts: { imported: 4 } });
    expect(report?.archiveDeletedAt).toMatch(/^\d{4}-/);
    expect((await env.MEDIA.list({ prefix: "imports/" })).objects).toEqual([]);
  });

  it("keeps a stopped import's archive until the owner discards it", async () => {
    const ctx = testCtx();
    const id = await queuedImport(await zipOf({ "actor.json": "{}" }));
    expect((await runAll(id)).results).toEqual(["failed"]);
    const key = `imports/${id}.zip`;
    expect(await env.MEDIA.head(key)).not.toBeNull();
    const done = await queuedImport(await posts());
    await runAll(done);
    await expect(discardImport(ctx, done)).rejects.toThrow("Only a stopped import");
    await discardImport(ctx, id);
    expect(await env.MEDIA.head(key)).toBeNull();
    const job = (await ctx.db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0];
    expect(job?.state).toBe("failed");
    expect(job?.archiveDeletedAt).not.toBeNull();
    expect((await importReport(ctx, id))?.error).toMatch(/no outbox\.json/);
  });
});
