import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { owner, rows } from "../helpers/inbox";
import { deliver } from "../../worker/services/delivery";
import { consumeDeliveryBatch, DELIVERY_MAX_ATTEMPTS } from "../../worker/queues/delivery-consumer";
import {
  BATCH_INBOXES,
  D1_QUERY_LIMIT,
  PACK_INBOXES,
  SUBREQUEST_LIMIT,
  sweepDeliveryPayloads,
} from "../../worker/queues/delivery-packs";
import { consumeFailed } from "../../worker/queues/failed-consumer";
import { DeliveryMessage, deliveryInboxes } from "../../worker/queues/messages";
import { newId } from "../../worker/lib/ids";

const BODY = JSON.stringify({ id: "https://social.example.com/activities/1", type: "Create" });
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const inboxOf = (n: number) => `https://host${n}.example/inbox`;

beforeEach(async () => {
  await testCtx().instance();
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

/** `n` remote accounts on hosts of their own, each following the owner (accepted), by shared inbox. */
async function followers(n: number) {
  const me = await owner();
  const statements = [];
  for (let i = 0; i < n; i++) {
    const id = newId();
    statements.push(
      env.DB.prepare(
        "INSERT INTO accounts (id, uri, username, domain, inbox, shared_inbox) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(
        id,
        `https://host${i}.example/users/u`,
        "u",
        `host${i}.example`,
        `https://host${i}.example/users/u/inbox`,
        inboxOf(i),
      ),
      env.DB.prepare(
        "INSERT INTO follows (id, account_id, target_account_id, uri, accepted) VALUES (?, ?, ?, ?, 1)",
      ).bind(newId(), id, me.id, `https://host${i}.example/follows/${id}`),
    );
  }
  await env.DB.batch(statements);
}

/** What was queued through sendBatch: the message bodies, in order. */
function queued(spy: { mock: { calls: unknown[][] } }): (DeliveryMessage & { delaySeconds?: number })[] {
  return spy.mock.calls.flatMap((c) =>
    (c[0] as MessageSendRequest<DeliveryMessage>[]).map((m) => ({ ...m.body, delaySeconds: m.delaySeconds })),
  );
}

async function consume(messages: { id: string; attempts?: number; body: unknown; timestamp?: Date }[]) {
  const batch = createMessageBatch<unknown>(
    "perch-delivery",
    messages.map((m) => ({ attempts: 1, timestamp: new Date(), ...m })),
  );
  const execution = createExecutionContext();
  const usage = await consumeDeliveryBatch(batch, env, execution);
  return { usage, result: await getQueueResult(batch, execution) };
}

const ok = () => new Response(null, { status: 202 });

function pack(inboxes: string[], extra: Partial<DeliveryMessage> = {}): DeliveryMessage {
  return { inboxes, body: BODY, signer: "owner", since: new Date().toISOString(), ...extra };
}

describe("packing deliveries", () => {
  it(`queues a post to 200 shared inboxes as ⌈200/${PACK_INBOXES}⌉ messages instead of 200`, async () => {
    await followers(200);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const n = await deliver(
      testCtx(),
      { id: "https://social.example.com/activities/p", type: "Create", to: [PUBLIC] },
      {
        followers: true,
      },
    );
    expect(n).toBe(200);
    const messages = queued(send);
    expect(messages).toHaveLength(Math.ceil(200 / PACK_INBOXES));
    const inboxes = messages.flatMap(deliveryInboxes);
    expect(inboxes.sort()).toEqual(Array.from({ length: 200 }, (_, i) => inboxOf(i)).sort());
    for (const m of messages) {
      expect(DeliveryMessage.safeParse(m).success).toBe(true);
      expect(deliveryInboxes(m).length).toBeLessThanOrEqual(PACK_INBOXES);
      expect(m).toMatchObject({ signer: "owner", since: expect.any(String) });
    }
  });

  it("queues a delivery to one inbox in the first message shape, which older consumers read", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const ctx = testCtx();
    await deliver(
      ctx,
      { id: "https://social.example.com/activities/l", type: "Like" },
      {
        accounts: [{ local: false, inbox: "https://one.example/users/a/inbox", sharedInbox: null } as never],
      },
    );
    const [message] = queued(send);
    expect(message).toMatchObject({ inbox: "https://one.example/users/a/inbox", signer: "owner" });
    expect(message?.inboxes).toBeUndefined();
  });

  it("keeps an activity too large for a queue message in R2, once for all its packs, and POSTs it whole", async () => {
    await followers(8);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const content = "x".repeat(110 * 1024);
    await deliver(
      testCtx(),
      { id: "https://social.example.com/activities/big", type: "Create", content },
      {
        followers: true,
      },
    );
    const messages = queued(send);
    expect(messages).toHaveLength(2);
    const keys = new Set(messages.map((m) => m.payload));
    expect(keys.size).toBe(1);
    expect(messages.every((m) => m.body === undefined)).toBe(true);
    const key = [...keys][0] ?? "";
    expect(key).toMatch(/^delivery\/[\w-]+\.json$/);
    const received: string[] = [];
    const routes = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [
        inboxOf(i),
        async (req: Request) => (received.push(await req.text()), ok()),
      ]),
    );
    mockFetch(routes);
    const { result } = await consume([{ id: "big", body: messages[0] }]);
    expect(result.explicitAcks).toEqual(["big"]);
    expect(received).toHaveLength(PACK_INBOXES);
    expect(JSON.parse(received[0] ?? "{}")).toMatchObject({ content });
    // Kept while a message may still need it, removed by upkeep after that.
    expect(await sweepDeliveryPayloads(env)).toBe(0);
    expect(await sweepDeliveryPayloads(env, Date.now() + 5 * 24 * 3600_000)).toBe(1);
    expect(await env.MEDIA.get(key)).toBeNull();
  });
});

describe("a pack's inboxes, each on its own", () => {
  it("tries again only the inboxes that failed, in a smaller pack with their attempt count", async () => {
    const inboxes = Array.from({ length: PACK_INBOXES }, (_, i) => inboxOf(i));
    const routes: Record<string, () => Response | Promise<Response>> = Object.fromEntries(
      inboxes.map((inbox) => [inbox, ok]),
    );
    routes[inboxOf(1)] = () => new Response(null, { status: 503 });
    routes[inboxOf(4)] = () => Promise.reject(new TypeError("connection refused"));
    const mock = mockFetch(routes);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const since = new Date(Date.now() - 60_000).toISOString();
    const { result } = await consume([{ id: "p", attempts: 2, body: pack(inboxes, { spent: 1, since }) }]);
    expect(mock.calls).toHaveLength(PACK_INBOXES);
    expect(result.explicitAcks).toEqual(["p"]);
    expect(result.retryMessages).toEqual([]);
    const [again, ...more] = queued(send);
    expect(more).toEqual([]);
    // One send before this message, two of it: three spent; the back-off of a third attempt.
    expect(again).toMatchObject({
      inboxes: [inboxOf(1), inboxOf(4)],
      body: BODY,
      spent: 3,
      since,
      delaySeconds: 120,
    });
    expect(await rows("SELECT count(*) AS n FROM dead_letters")).toEqual([{ n: 0 }]);
  });

  it("retries only the 2 of a post's 10 inboxes that failed", async () => {
    await followers(10);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await deliver(
      testCtx(),
      { id: "https://social.example.com/activities/t", type: "Create", to: [PUBLIC] },
      {
        followers: true,
      },
    );
    const first = queued(send);
    expect(first).toHaveLength(2);
    send.mockClear();
    const routes: Record<string, () => Response> = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [inboxOf(i), ok]),
    );
    routes[inboxOf(3)] = () => new Response(null, { status: 500 });
    routes[inboxOf(8)] = () => new Response(null, { status: 429 });
    const mock = mockFetch(routes);
    // One message an invocation, as the delivery queue's max_batch_size has it.
    for (const [i, body] of first.entries()) await consume([{ id: `p${i}`, body }]);
    expect(mock.calls).toHaveLength(10);
    expect(queued(send).flatMap(deliveryInboxes).sort()).toEqual([inboxOf(3), inboxOf(8)]);
    expect(queued(send).every((m) => m.spent === 1)).toBe(true);
  });

  it("leaves a pack whose every inbox failed alike to the queue's own retry, the cheapest", async () => {
    const inboxes = [inboxOf(1), inboxOf(2)];
    mockFetch(Object.fromEntries(inboxes.map((i) => [i, () => new Response(null, { status: 500 })])));
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const { result } = await consume([{ id: "p", body: pack(inboxes) }]);
    expect(result.retryMessages).toEqual([{ msgId: "p" }]);
    expect(send).not.toHaveBeenCalled();
  });

  it("holds back only the inboxes of a host whose breaker is open", async () => {
    await env.DB.prepare(
      "INSERT INTO hosts (host, consecutive_failures, failing_since, open_until) VALUES ('down.example', 9, ?, ?)",
    )
      .bind(new Date(Date.now() - 3600_000).toISOString(), new Date(Date.now() + 3600_000).toISOString())
      .run();
    const held = ["https://down.example/inbox", "https://down.example/users/b/inbox"];
    const sent = [inboxOf(1), inboxOf(2), inboxOf(3)];
    const mock = mockFetch(Object.fromEntries(sent.map((i) => [i, ok])));
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const { result } = await consume([
      { id: "p", attempts: 3, body: pack([...sent, ...held], { spent: 1 }) },
    ]);
    expect(mock.calls.map((r) => r.url).sort()).toEqual(sent);
    expect(result.explicitAcks).toEqual(["p"]);
    const [copy, ...more] = queued(send);
    expect(more).toEqual([]);
    // Held without being sent: this attempt is not spent (1 before, 2 of this message's 3).
    expect(copy).toMatchObject({ inboxes: held, spent: 3 });
    expect(copy?.delaySeconds).toBeGreaterThanOrEqual(3600);
  });

  it("lets one inbox of a half-open host through as the probe and holds back its others", async () => {
    await env.DB.prepare(
      "INSERT INTO hosts (host, consecutive_failures, failing_since, open_until) VALUES ('down.example', 9, ?, ?)",
    )
      .bind(new Date(Date.now() - 3600_000).toISOString(), new Date(Date.now() - 1000).toISOString())
      .run();
    const probeOf = ["https://down.example/inbox", "https://down.example/users/b/inbox"];
    const mock = mockFetch(Object.fromEntries(probeOf.map((i) => [i, ok])));
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await consume([{ id: "p", body: pack(probeOf) }]);
    expect(mock.calls.map((r) => r.url)).toEqual([probeOf[0]]);
    expect(queued(send)).toMatchObject([{ inbox: probeOf[1], spent: 0 }]);
  });

  it("keeps a dead letter for each inbox that refused, holding that inbox's message alone", async () => {
    const inboxes = [inboxOf(1), inboxOf(2), inboxOf(3), inboxOf(4)];
    mockFetch({
      [inboxOf(1)]: ok,
      [inboxOf(2)]: () => new Response(null, { status: 410 }),
      [inboxOf(3)]: ok,
      [inboxOf(4)]: () => new Response(null, { status: 403 }),
    });
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const { result } = await consume([{ id: "p", body: pack(inboxes) }]);
    expect(result.explicitAcks).toEqual(["p"]);
    expect(send).not.toHaveBeenCalled();
    const dead = await rows<{ target: string; error: string; payload: string; attempts: number }>(
      "SELECT target, error, payload, attempts FROM dead_letters ORDER BY target",
    );
    expect(dead.map(({ payload: _, ...d }) => d)).toEqual([
      { target: inboxOf(2), error: "HTTP 410", attempts: 1 },
      { target: inboxOf(4), error: "HTTP 403", attempts: 1 },
    ]);
    // What retrying a dead letter queues: a message of the first shape, for that inbox only.
    const again = DeliveryMessage.parse(JSON.parse(dead[0]?.payload ?? "{}"));
    expect(again).toEqual({ inbox: inboxOf(2), body: BODY, signer: "owner" });
  });

  it("gives up an inbox whose attempts ran out, and only that one", async () => {
    mockFetch({ [inboxOf(1)]: () => new Response(null, { status: 502 }), [inboxOf(2)]: ok });
    const { result } = await consume([
      { id: "p", attempts: 1, body: pack([inboxOf(1), inboxOf(2)], { spent: DELIVERY_MAX_ATTEMPTS - 1 }) },
    ]);
    expect(result.explicitAcks).toEqual(["p"]);
    expect(await rows("SELECT target, error, attempts FROM dead_letters")).toEqual([
      { target: inboxOf(1), error: "HTTP 502", attempts: DELIVERY_MAX_ATTEMPTS },
    ]);
  });

  it("gives every inbox of a pack up when it is three days old", async () => {
    const mock = mockFetch({});
    const since = new Date(Date.now() - 3 * 24 * 3600_000 - 60_000).toISOString();
    const { result } = await consume([{ id: "old", body: pack([inboxOf(1), inboxOf(2)], { since }) }]);
    expect(result.explicitAcks).toEqual(["old"]);
    expect(mock.calls).toHaveLength(0);
    expect(await rows("SELECT target, error FROM dead_letters ORDER BY target")).toEqual([
      { target: inboxOf(1), error: "not delivered within 3 days" },
      { target: inboxOf(2), error: "not delivered within 3 days" },
    ]);
  });

  it("delivers a message of the first shape (one inbox) queued before packing, beside a pack", async () => {
    const mock = mockFetch({ [inboxOf(1)]: ok, [inboxOf(2)]: ok, [inboxOf(3)]: ok });
    const { result } = await consume([
      { id: "old", body: { inbox: inboxOf(1), body: BODY, signer: "owner" } },
      { id: "new", body: pack([inboxOf(2), inboxOf(3)]) },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["new", "old"]);
    expect(mock.calls.map((r) => r.url).sort()).toEqual([inboxOf(1), inboxOf(2), inboxOf(3)]);
  });

  it("refuses a message with both shapes, or with more inboxes than a pack holds", async () => {
    mockFetch({});
    const many = Array.from({ length: PACK_INBOXES + 1 }, (_, i) => inboxOf(i));
    await consume([
      { id: "both", body: { inbox: inboxOf(1), inboxes: [inboxOf(2)], body: BODY, signer: "owner" } },
      { id: "many", body: pack(many) },
    ]);
    const errors = await rows<{ error: string }>("SELECT error FROM dead_letters");
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => e.error.startsWith("MalformedMessage"))).toBe(true);
  });

  it("keeps a pack that crashed its consumer as one dead letter per inbox", async () => {
    const batch = createMessageBatch<unknown>("perch-delivery-failed", [
      { id: "c", timestamp: new Date(), attempts: 9, body: pack([inboxOf(1), inboxOf(2)]) },
    ]);
    await consumeFailed(batch, env, "delivery");
    const dead = await rows<{ target: string; payload: string }>(
      "SELECT target, payload FROM dead_letters ORDER BY target",
    );
    expect(dead.map((d) => d.target)).toEqual([inboxOf(1), inboxOf(2)]);
    expect(deliveryInboxes(DeliveryMessage.parse(JSON.parse(dead[1]?.payload ?? "{}")))).toEqual([
      inboxOf(2),
    ]);
  });
});

describe("one consumer invocation", () => {
  it("stays within 50 subrequests and 50 D1 queries, however full its batch, queueing the rest again", async () => {
    // The worst a batch can be: max_batch_size (20) full packs, every host new and refusing
    // draft-cavage (two POSTs each), each activity in R2.
    const key = "delivery/worst.json";
    await env.MEDIA.put(key, BODY);
    const messages = Array.from({ length: 20 }, (_, m) => ({
      id: `m${m}`,
      body: pack(
        Array.from({ length: PACK_INBOXES }, (_, i) => inboxOf(m * PACK_INBOXES + i)),
        { body: undefined, payload: key },
      ),
    }));
    const routes = Object.fromEntries(
      messages.flatMap((m) =>
        deliveryInboxes(m.body).map((inbox) => [
          inbox,
          (req: Request) => new Response(null, { status: req.headers.has("signature-input") ? 202 : 401 }),
        ]),
      ),
    );
    const mock = mockFetch(routes);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const { usage, result } = await consume(messages);
    expect(usage?.inboxes).toBe(BATCH_INBOXES);
    expect(mock.calls).toHaveLength(2 * BATCH_INBOXES);
    expect(usage?.subrequests).toBeGreaterThanOrEqual(mock.calls.length);
    expect(usage?.subrequests).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
    expect(usage?.d1Queries).toBeLessThanOrEqual(D1_QUERY_LIMIT);
    // The 19 messages beyond the budget are queued again as they were, no attempt spent.
    expect(result.explicitAcks).toHaveLength(20);
    const again = queued(send);
    expect(again).toHaveLength(19);
    expect(again.every((m) => m.spent === 0 && m.payload === key)).toBe(true);
  });

  it("stays within the limits when every inbox of its batch fails, is given up, or is held", async () => {
    await env.DB.prepare("INSERT INTO hosts (host, open_until) VALUES ('host3.example', ?)")
      .bind(new Date(Date.now() + 3600_000).toISOString())
      .run();
    const inboxes = Array.from({ length: PACK_INBOXES }, (_, i) => inboxOf(i));
    const mock = mockFetch({
      [inboxOf(0)]: () => new Response(null, { status: 500 }),
      [inboxOf(1)]: () => new Response(null, { status: 410 }),
      [inboxOf(2)]: () => new Response(null, { status: 401 }),
      [inboxOf(4)]: () => Promise.reject(new TypeError("reset")),
      [inboxOf(5)]: () => new Response(null, { status: 429 }),
    });
    vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const { usage } = await consume([{ id: "p", body: pack(inboxes) }]);
    expect(mock.calls.length).toBe(6);
    expect(usage?.subrequests).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
    expect(usage?.d1Queries).toBeLessThanOrEqual(D1_QUERY_LIMIT);
  });
});

/** Queue operations as Queues bills them: a write, a read and a delete per message, each per 64 KB. */
function operations(messages: DeliveryMessage[]): number {
  const bytes = (m: DeliveryMessage) => new TextEncoder().encode(JSON.stringify(m)).byteLength;
  return messages.reduce((n, m) => n + 3 * Math.ceil(bytes(m) / 65536), 0);
}

describe("the issue's day: 20 posts, 10 boosts and 20 likes to 200 shared inboxes", () => {
  it("costs a sixth of the Queue operations it cost with a message per inbox", async () => {
    await followers(200);
    const author = {
      local: false,
      inbox: "https://author.example/users/a/inbox",
      sharedInbox: "https://author.example/inbox",
    } as never;
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const ctx = testCtx();
    const content = "A post of ordinary length, with a link and a hashtag. ".repeat(8);
    const activities: [Record<string, unknown>, Parameters<typeof deliver>[2]][] = [];
    for (let i = 0; i < 20; i++) {
      const note = { id: `https://social.example.com/statuses/${i}`, type: "Note", content, to: [PUBLIC] };
      activities.push([
        { id: `${note.id}/activity`, type: "Create", object: note, to: [PUBLIC] },
        { followers: true },
      ]);
    }
    for (let i = 0; i < 10; i++) {
      const boost = {
        id: `https://social.example.com/statuses/b${i}/activity`,
        type: "Announce",
        to: [PUBLIC],
      };
      activities.push([
        { ...boost, object: "https://author.example/notes/1" },
        { followers: true, accounts: [author] },
      ]);
    }
    for (let i = 0; i < 20; i++) {
      const like = { id: `https://social.example.com/activities/like${i}`, type: "Like" };
      activities.push([{ ...like, object: `https://author.example/notes/${i}` }, { accounts: [author] }]);
    }
    // Before: one message per inbox, the same body in each.
    const before: DeliveryMessage[] = [];
    for (const [activity, audience] of activities) {
      const from = queued(send).length;
      await deliver(ctx, activity, audience);
      const now = queued(send).slice(from);
      const body = now[0]?.body ?? "";
      for (const inbox of now.flatMap(deliveryInboxes))
        before.push({ inbox, body, signer: "owner", since: now[0]?.since });
    }
    const after = queued(send).map(({ delaySeconds: _, ...m }) => m);
    const figures = {
      inboxes: before.length,
      messagesBefore: before.length,
      operationsBefore: operations(before),
      messagesAfter: after.length,
      operationsAfter: operations(after),
    };
    console.log("queue operations a day, without retries:", JSON.stringify(figures));
    // 20 × 200 + 10 × 201 + 20 × 1 inboxes; 30 × ⌈200/6 or 201/6⌉ + 20 messages.
    expect(figures).toEqual({
      inboxes: 6030,
      messagesBefore: 6030,
      operationsBefore: 18090,
      messagesAfter: 20 * 34 + 10 * 34 + 20,
      operationsAfter: 3 * (20 * 34 + 10 * 34 + 20),
    });
  });
});
