import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import worker from "../../worker/index";
import { deliverOne, DELIVERY_MAX_ATTEMPTS } from "../../worker/queues/delivery-consumer";
import type { DeliveryMessage } from "../../worker/queues/messages";

const HOST = "remote.example";
const INBOX = `https://${HOST}/inbox`;
const message = {
  inbox: INBOX,
  body: JSON.stringify({ id: "https://social.example.com/activities/1", type: "Like" }),
  signer: "owner" as const,
} satisfies DeliveryMessage;

beforeEach(async () => {
  await testCtx().instance();
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/** Starts the host's current run of failures `ms` ago, as if the host had been failing since then. */
async function failingFor(ms: number, failures = 10) {
  await env.DB.prepare(
    "INSERT INTO hosts (host, consecutive_failures, failing_since, updated_at) VALUES (?, ?, ?, ?)",
  )
    .bind(HOST, failures, ago(ms), ago(30_000))
    .run();
}

async function hostState() {
  return (
    await rows<{ consecutive_failures: number; failing_since: string | null; open_until: string | null }>(
      "SELECT consecutive_failures, failing_since, open_until FROM hosts WHERE host = ?",
      HOST,
    )
  )[0];
}

async function consume(messages: { id: string; attempts: number; body: DeliveryMessage }[]) {
  const batch = createMessageBatch<DeliveryMessage>(
    "perch-delivery",
    messages.map((m) => ({ ...m, timestamp: new Date() })),
  );
  const execution = createExecutionContext();
  await worker.queue(batch, env, execution);
  return getQueueResult(batch, execution);
}

describe("the per-host delivery breaker", () => {
  it("stays closed through a short blip of 503s, however many deliveries fail in it", async () => {
    const mock = mockFetch({ [INBOX]: () => new Response(null, { status: 503 }) });
    await Promise.all(Array.from({ length: 20 }, () => deliverOne(testCtx(), message)));
    expect((await hostState())?.consecutive_failures).toBe(20);
    expect((await hostState())?.open_until).toBeNull();
    // The next delivery is still sent.
    await deliverOne(testCtx(), message);
    expect(mock.calls).toHaveLength(21);
  });

  it("opens once an outage has lasted five minutes, for as long as it has lasted", async () => {
    await failingFor(10 * 60_000);
    mockFetch({ [INBOX]: () => new Response(null, { status: 503 }) });
    await deliverOne(testCtx(), message);
    const open = Date.parse((await hostState())?.open_until ?? "") - Date.now();
    expect(open).toBeGreaterThan(9 * 60_000);
    expect(open).toBeLessThan(11 * 60_000);
  });

  it("never opens for more than six hours, even after days of failures", async () => {
    await failingFor(3 * 24 * 3600_000);
    mockFetch({ [INBOX]: () => new Response(null, { status: 503 }) });
    await deliverOne(testCtx(), message);
    const open = Date.parse((await hostState())?.open_until ?? "") - Date.now();
    expect(open).toBeLessThanOrEqual(6 * 3600_000);
    expect(open).toBeGreaterThan(5.9 * 3600_000);
  });

  it("starts a new run when the last failure was long ago, instead of counting the quiet time as outage", async () => {
    await env.DB.prepare(
      "INSERT INTO hosts (host, consecutive_failures, failing_since, updated_at) VALUES (?, 1, ?, ?)",
    )
      .bind(HOST, ago(3 * 24 * 3600_000), ago(3 * 24 * 3600_000))
      .run();
    mockFetch({ [INBOX]: () => new Response(null, { status: 503 }) });
    await deliverOne(testCtx(), message);
    const state = await hostState();
    expect(state?.open_until).toBeNull();
    expect(state?.consecutive_failures).toBe(1);
    expect(Date.now() - Date.parse(state?.failing_since ?? "")).toBeLessThan(60_000);
  });

  it("holds deliveries back without sending while it is open", async () => {
    await failingFor(10 * 60_000);
    await env.DB.prepare("UPDATE hosts SET open_until = ? WHERE host = ?")
      .bind(new Date(Date.now() + 5 * 60_000).toISOString(), HOST)
      .run();
    const mock = mockFetch({ [INBOX]: () => new Response(null, { status: 202 }) });
    const outcome = await deliverOne(testCtx(), message);
    expect(outcome).toMatchObject({ kind: "held", error: `breaker open for ${HOST}` });
    expect((outcome as { delaySeconds: number }).delaySeconds).toBeGreaterThanOrEqual(300);
    expect(mock.calls).toHaveLength(0);
  });

  it("lets exactly one probe through when its window has passed, and closes when the probe succeeds", async () => {
    await failingFor(10 * 60_000);
    await env.DB.prepare("UPDATE hosts SET open_until = ? WHERE host = ?").bind(ago(1000), HOST).run();
    const mock = mockFetch({ [INBOX]: () => new Response(null, { status: 202 }) });
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => deliverOne(testCtx(), message)));
    expect(outcomes.filter((o) => o.kind === "delivered")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "held")).toHaveLength(9);
    expect(mock.calls).toHaveLength(1);
    expect(await hostState()).toEqual({ consecutive_failures: 0, failing_since: null, open_until: null });
  });

  it("opens again for longer when the probe fails", async () => {
    await failingFor(40 * 60_000);
    await env.DB.prepare("UPDATE hosts SET open_until = ? WHERE host = ?").bind(ago(1000), HOST).run();
    mockFetch({ [INBOX]: () => new Response(null, { status: 503 }) });
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "retry" });
    const open = Date.parse((await hostState())?.open_until ?? "") - Date.now();
    expect(open).toBeGreaterThan(39 * 60_000);
  });

  it("is reset by an answer, even a permanent refusal: the host is alive", async () => {
    await failingFor(60_000, 3);
    mockFetch({ [INBOX]: () => new Response(null, { status: 404 }) });
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "permanent" });
    expect(await hostState()).toEqual({ consecutive_failures: 0, failing_since: null, open_until: null });
  });
});

describe("deliveries held back by the breaker", () => {
  beforeEach(async () => {
    await failingFor(10 * 60_000);
    await env.DB.prepare("UPDATE hosts SET open_until = ? WHERE host = ?")
      .bind(new Date(Date.now() + 3600_000).toISOString(), HOST)
      .run();
  });

  it("are queued again, delayed until the breaker's window ends, without spending an attempt", async () => {
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    mockFetch({});
    const result = await consume([{ id: "h", attempts: 3, body: { ...message, spent: 2 } }]);
    expect(result.explicitAcks).toEqual(["h"]);
    expect(result.retryMessages).toEqual([]);
    const [requests] = sendBatch.mock.calls[0] ?? [];
    expect(requests).toHaveLength(1);
    const copy = [...(requests ?? [])][0];
    // Two sends before this copy, two of this copy (attempts 1 and 2); the held third one is free.
    expect(copy?.body).toMatchObject({ inbox: INBOX, body: message.body, spent: 4 });
    expect(copy?.delaySeconds).toBeGreaterThanOrEqual(3600);
    expect(copy?.delaySeconds).toBeLessThanOrEqual(12 * 3600);
    expect(await rows("SELECT count(*) AS n FROM dead_letters")).toEqual([{ n: 0 }]);
  });

  it("are not given up while held, even past the number of attempts a send may take", async () => {
    vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    mockFetch({});
    const result = await consume([
      { id: "h", attempts: 1, body: { ...message, spent: DELIVERY_MAX_ATTEMPTS } },
    ]);
    expect(result.explicitAcks).toEqual(["h"]);
    expect(await rows("SELECT count(*) AS n FROM dead_letters")).toEqual([{ n: 0 }]);
  });

  it("are given up as dead letters three days after they were first queued", async () => {
    mockFetch({});
    const since = ago(3 * 24 * 3600_000 + 60_000);
    const result = await consume([{ id: "old", attempts: 1, body: { ...message, since } }]);
    expect(result.explicitAcks).toEqual(["old"]);
    expect(await rows("SELECT target, error FROM dead_letters")).toEqual([
      { target: INBOX, error: "not delivered within 3 days" },
    ]);
  });
});

describe("counting attempts across the breaker's copies", () => {
  it("gives a delivery up after its last real attempt, counting the sends of earlier copies", async () => {
    mockFetch({ [INBOX]: () => new Response(null, { status: 502 }) });
    const result = await consume([
      { id: "x", attempts: 2, body: { ...message, spent: DELIVERY_MAX_ATTEMPTS - 2 } },
    ]);
    expect(result.explicitAcks).toEqual(["x"]);
    expect(await rows("SELECT error, attempts FROM dead_letters")).toEqual([
      { error: "HTTP 502", attempts: DELIVERY_MAX_ATTEMPTS },
    ]);
  });

  it("keeps a message that does not fit the delivery contract as a dead letter instead of retrying it", async () => {
    mockFetch({});
    const batch = createMessageBatch<unknown>("perch-delivery", [
      { id: "bad", timestamp: new Date(), attempts: 1, body: { inbox: 42 } },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks).toEqual(["bad"]);
    expect(await rows<{ error: string }>("SELECT error FROM dead_letters")).toEqual([
      { error: expect.stringMatching(/^MalformedMessage/) },
    ]);
  });
});
