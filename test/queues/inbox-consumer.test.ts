import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
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

async function run(messages: ReturnType<typeof msg>[]) {
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
