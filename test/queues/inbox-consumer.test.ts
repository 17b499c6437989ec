import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { ownerFollows, rows } from "../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";
import worker from "../../worker/index";
import { INBOX_MAX_ATTEMPTS } from "../../worker/queues/inbox-consumer";
import type { InboxMessage } from "../../worker/queues/messages";

let bob: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  await testCtx().instance();
});
afterEach(() => restoreFetch());

const msg = (activity: Record<string, unknown>, attempts = 1) => ({
  id: String(activity.id),
  timestamp: new Date(),
  attempts,
  body: {
    activity,
    signer: activity.actor as string,
    proofVerified: false,
    receivedAt: new Date().toISOString(),
  } satisfies InboxMessage,
});

async function run(messages: { id: string; timestamp: Date; attempts: number; body: InboxMessage }[]) {
  const batch = createMessageBatch<InboxMessage>("perch-inbox", messages);
  const execution = createExecutionContext();
  await worker.queue(batch, env, execution);
  return getQueueResult(batch, execution);
}

describe("the inbox queue consumer", () => {
  it("processes a Follow and acks it", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const result = await run([msg({ id: `${bob.id}#f1`, type: "Follow", actor: bob.id, object: ACTOR })]);
    expect(result.explicitAcks).toEqual([`${bob.id}#f1`]);
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 1 }]);
  });

  it("retries when the actor cannot be fetched yet, and keeps it as a dead letter after the last attempt", async () => {
    mockFetch({ [bob.id]: () => new Response("busy", { status: 503 }) });
    const activity = { id: `${bob.id}#f2`, type: "Follow", actor: bob.id, object: ACTOR };
    const first = await run([msg(activity)]);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual([activity.id]);
    const last = await run([msg(activity, INBOX_MAX_ATTEMPTS)]);
    expect(last.explicitAcks).toEqual([activity.id]);
    const dead = await rows<{ kind: string; target: string; error: string }>(
      "SELECT kind, target, error FROM dead_letters",
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ kind: "inbox", target: activity.id });
  });

  it("does not retry an activity that can never succeed, and keeps it visible", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const bad = {
      id: `${bob.id}#m`,
      type: "Move",
      actor: bob.id,
      object: "https://other.example/users/x",
      target: bob.id,
    };
    const result = await run([msg(bad)]);
    expect(result.explicitAcks).toEqual([bad.id]);
    expect(result.retryMessages).toEqual([]);
    expect(await rows("SELECT count(*) AS n FROM dead_letters")).toEqual([{ n: 1 }]);
  });
});

describe("batched writes in the inbox consumer", () => {
  const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
  const note = (n: number) => ({
    id: `${bob.id}/statuses/${n}`,
    type: "Note",
    attributedTo: bob.id,
    content: `<p>post ${n}</p>`,
    to: [PUBLIC, ACTOR],
  });
  const create = (n: number) => ({
    id: `${bob.id}/statuses/${n}/activity`,
    type: "Create",
    actor: bob.id,
    object: note(n),
  });

  it("stores every Create of a batch and acks each", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const result = await run([1, 2, 3].map((n) => msg(create(n))));
    expect(result.explicitAcks.sort()).toEqual(
      [1, 2, 3].map((n) => `${bob.id}/statuses/${n}/activity`).sort(),
    );
    expect(await rows("SELECT count(*) AS n FROM statuses")).toEqual([{ n: 3 }]);
  });

  it("never lets a Delete overtake the Create before it in the same batch", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    await run([
      msg(create(1)),
      msg({ id: `${bob.id}/statuses/1#delete`, type: "Delete", actor: bob.id, object: note(1).id }),
      msg(create(2)),
    ]);
    const stored = await rows<{ uri: string; deleted: number }>(
      "SELECT uri, deleted_at IS NOT NULL AS deleted FROM statuses ORDER BY uri",
    );
    expect(stored).toEqual([
      { uri: note(1).id, deleted: 1 },
      { uri: note(2).id, deleted: 0 },
    ]);
  });
});

describe("activities forwarded without a proof", () => {
  it("are refused by the consumer unless they are a Create or Update", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const like = { id: `${bob.id}#likes/1`, type: "Like", actor: bob.id, object: `${ACTOR}/statuses/1` };
    const result = await run([
      { ...msg(like), body: { ...msg(like).body, signer: "https://other.example/users/carol" } },
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(await rows("SELECT error FROM dead_letters")).toEqual([
      {
        error:
          "PermanentError: Like forwarded by https://other.example/users/carol without its actor's proof",
      },
    ]);
  });
});

describe("every message of a batch is accounted for", () => {
  const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
  const create = (n: number, extra: Record<string, unknown> = {}) => ({
    id: `${bob.id}/statuses/${n}/activity`,
    type: "Create",
    actor: bob.id,
    object: {
      id: `${bob.id}/statuses/${n}`,
      type: "Note",
      attributedTo: bob.id,
      content: `<p>post ${n}</p>`,
      to: [PUBLIC, ACTOR],
      ...extra,
    },
  });

  it("stores all of 1,500 posts published in the same second, with 1,500 distinct ids", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const published = "2026-11-30T12:00:00Z";
    for (let b = 0; b < 15; b++) {
      const result = await run(
        Array.from({ length: 100 }, (_, i) => msg(create(b * 100 + i, { published }))),
      );
      expect(result.explicitAcks).toHaveLength(100);
    }
    expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM statuses")).toEqual([
      { n: 1500, ids: 1500 },
    ]);
    expect(await rows("SELECT count(*) AS n FROM dead_letters")).toEqual([{ n: 0 }]);
    // Every id sorts at the post's own time: the millisecond of `published`.
    const ms = BigInt(Date.parse(published));
    const bounds = await rows<{ lo: string; hi: string }>(
      "SELECT min(id) AS lo, max(id) AS hi FROM statuses",
    );
    expect(BigInt(bounds[0]!.lo) >> 16n).toBe(ms);
    expect(BigInt(bounds[0]!.hi) >> 16n).toBe(ms);
  }, 120_000);

  it("keeps a deeply nested activity that reached the queue as a dead letter at once, and the 19 posts beside it", async () => {
    // 5,000 levels cannot even be put in a test batch (the platform's own serializer overflows, which is
    // why the fast path refuses them); 3,000 can, from a Worker older than that check.
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    let deep: unknown = "bottom";
    for (let i = 0; i < 3000; i++) deep = [deep];
    const messages = Array.from({ length: 19 }, (_, i) => msg(create(i)));
    messages.splice(7, 0, msg({ ...create(99), object: { ...create(99).object, content: deep } }));
    const result = await run(messages);
    expect(result.explicitAcks).toHaveLength(20);
    expect(result.retryMessages).toEqual([]);
    expect(await rows("SELECT count(*) AS n FROM statuses")).toEqual([{ n: 19 }]);
    expect(await rows("SELECT target, error FROM dead_letters")).toEqual([
      { target: create(99).id, error: expect.stringMatching(/^PermanentError: invalid object: content/) },
    ]);
  });

  it("writes a failed combined write again message by message, so only the broken one fails", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    // A real D1 failure for one row: a trigger refusing the third post's insert.
    await env.DB.prepare(
      `CREATE TRIGGER refuse_poison BEFORE INSERT ON statuses WHEN NEW.uri = '${bob.id}/statuses/3'
       BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`,
    ).run();
    const result = await run([1, 2, 3, 4, 5].map((n) => msg(create(n))));
    expect(result.explicitAcks.sort()).toEqual([1, 2, 4, 5].map((n) => create(n).id).sort());
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([create(3).id]);
    expect(await rows("SELECT count(*) AS n FROM statuses")).toEqual([{ n: 4 }]);
  });

  it("keeps a message that does not fit the inbox contract as a dead letter at once", async () => {
    const batch = createMessageBatch<unknown>("perch-inbox", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { activity: "not an object", signer: 7 } },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(await rows<{ error: string }>("SELECT error FROM dead_letters")).toEqual([
      { error: expect.stringMatching(/^MalformedMessage/) },
    ]);
  });

  it("records what the dead-letter queue receives (a consumer that crashed on every attempt)", async () => {
    const body = msg(create(5)).body;
    const batch = createMessageBatch<unknown>("perch-inbox-failed", [
      { id: "d1", timestamp: new Date(), attempts: 1, body: { ...body, id: create(5).id } },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks).toEqual(["d1"]);
    const dead = await rows<{ kind: string; target: string; payload: string; error: string }>(
      "SELECT kind, target, payload, error FROM dead_letters",
    );
    expect(dead).toEqual([
      {
        kind: "inbox",
        target: create(5).id,
        payload: expect.stringContaining("post 5"),
        error: expect.stringMatching(/crashed/),
      },
    ]);
  });

  it("fails at once, without retries, when the work needs a fetch from a refused address", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    await ownerFollows(bob.document);
    const announce = {
      id: `${bob.id}/statuses/7/boost`,
      type: "Announce",
      actor: bob.id,
      object: "https://localhost./notes/1",
    };
    const result = await run([msg(announce)]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual([announce.id]);
    expect(await rows<{ error: string }>("SELECT error FROM dead_letters")).toEqual([
      { error: expect.stringMatching(/private_address|invalid_url/) },
    ]);
  });
});

describe("activities too large for a queue message", () => {
  it("are read from R2, processed, and their payload deleted", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    const activity = {
      id: `${bob.id}/statuses/big/activity`,
      type: "Create",
      actor: bob.id,
      object: {
        id: `${bob.id}/statuses/big`,
        type: "Note",
        attributedTo: bob.id,
        content: `<p>${"y".repeat(400_000)}</p>`,
        to: ["https://www.w3.org/ns/activitystreams#Public", ACTOR],
      },
    };
    const payload = `inbox/${crypto.randomUUID()}.json`;
    await env.MEDIA.put(payload, JSON.stringify(activity));
    const body: InboxMessage = {
      id: activity.id,
      type: "Create",
      payload,
      signer: bob.id,
      proofVerified: false,
      receivedAt: new Date().toISOString(),
    };
    const result = await run([{ id: activity.id, timestamp: new Date(), attempts: 1, body }]);
    expect(result.explicitAcks).toEqual([activity.id]);
    expect(await rows<{ n: number }>("SELECT length(content) AS n FROM statuses")).toEqual([{ n: 400_007 }]);
    expect(await env.MEDIA.get(payload)).toBeNull();
  });

  it("are kept as a dead letter when their payload is missing from R2", async () => {
    const body: InboxMessage = {
      id: `${bob.id}/statuses/lost/activity`,
      type: "Create",
      payload: "inbox/00000000-0000-0000-0000-000000000000.json",
      signer: bob.id,
      proofVerified: false,
      receivedAt: new Date().toISOString(),
    };
    const result = await run([{ id: "lost", timestamp: new Date(), attempts: 1, body }]);
    expect(result.explicitAcks).toEqual(["lost"]);
    expect(await rows<{ error: string }>("SELECT error FROM dead_letters")).toEqual([
      { error: expect.stringMatching(/^MissingPayload/) },
    ]);
  });
});
