import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import worker from "../../worker/index";
import { deliverOne, DELIVERY_MAX_ATTEMPTS } from "../../worker/queues/delivery-consumer";
import type { DeliveryMessage } from "../../worker/queues/messages";
import { importPublicKeyPem, verifyRequest } from "../../worker/lib/http-signatures";

const INBOX = "https://remote.example/inbox";
const message = {
  inbox: INBOX,
  body: JSON.stringify({ id: "https://social.example.com/activities/1", type: "Like" }),
  signer: "owner" as const,
} satisfies DeliveryMessage;

afterEach(() => restoreFetch());

async function ownerKey() {
  const { row } = await testCtx().instance();
  return importPublicKeyPem(row.rsaPublicKeyPem);
}

describe("delivering one activity", () => {
  it("POSTs the body signed with the owner's key, verifiable against the actor's public key", async () => {
    const key = await ownerKey();
    let verdict: unknown;
    mockFetch({
      [INBOX]: async (req) => {
        const body = await req.arrayBuffer();
        verdict = await verifyRequest(new Request(req, { body }), async () => key, { body });
        return new Response(null, { status: 202 });
      },
    });
    expect(await deliverOne(testCtx(), message)).toEqual({ kind: "delivered", status: 202 });
    expect(verdict).toMatchObject({
      ok: true,
      keyId: "https://social.example.com/users/alice#main-key",
      scheme: "cavage",
    });
  });

  it("retries a 401 at once with RFC 9421 and remembers that the host wants it", async () => {
    const schemes: string[] = [];
    mockFetch({
      [INBOX]: (req) => {
        const scheme = req.headers.has("signature-input") ? "rfc9421" : "cavage";
        schemes.push(scheme);
        return new Response(null, { status: scheme === "rfc9421" ? 202 : 401 });
      },
    });
    expect((await deliverOne(testCtx(), message)).kind).toBe("delivered");
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "delivered" });
    expect(schemes).toEqual(["cavage", "rfc9421", "rfc9421"]);
  });

  it.each([400, 403, 404, 410, 422])("treats HTTP %i as permanent", async (status) => {
    mockFetch({ [INBOX]: () => new Response(null, { status }) });
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "permanent" });
  });

  it.each([401, 408, 429, 500, 503])("retries HTTP %i", async (status) => {
    mockFetch({ [INBOX]: () => new Response(null, { status }) });
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "retry" });
  });

  it("retries a network failure", async () => {
    mockFetch({ [INBOX]: () => Promise.reject(new TypeError("connection refused")) });
    expect(await deliverOne(testCtx(), message)).toMatchObject({ kind: "retry" });
  });

  it("refuses an inbox on a private address without sending anything", async () => {
    const mock = mockFetch({});
    const outcome = await deliverOne(testCtx(), { ...message, inbox: "https://10.0.0.1/inbox" });
    expect(outcome).toMatchObject({ kind: "permanent" });
    expect(mock.calls).toHaveLength(0);
  });
});

describe("the delivery queue consumer", () => {
  it("acks what was delivered, retries what failed, and keeps permanent failures as dead letters", async () => {
    mockFetch({
      [INBOX]: () => new Response(null, { status: 202 }),
      "https://down.example/inbox": () => new Response(null, { status: 502 }),
      "https://gone.example/inbox": () => new Response(null, { status: 410 }),
    });
    await testCtx().instance();
    const batch = createMessageBatch<DeliveryMessage>("perch-delivery", [
      { id: "a", timestamp: new Date(), attempts: 1, body: message },
      {
        id: "b",
        timestamp: new Date(),
        attempts: 1,
        body: { ...message, inbox: "https://down.example/inbox" },
      },
      {
        id: "c",
        timestamp: new Date(),
        attempts: 1,
        body: { ...message, inbox: "https://gone.example/inbox" },
      },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks.sort()).toEqual(["a", "c"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["b"]);
    expect(await rows("SELECT kind, target, error FROM dead_letters")).toEqual([
      { kind: "delivery", target: "https://gone.example/inbox", error: "HTTP 410" },
    ]);
  });

  it("keeps a delivery that failed on its last attempt as a dead letter", async () => {
    mockFetch({ "https://down.example/inbox": () => new Response(null, { status: 502 }) });
    await testCtx().instance();
    const batch = createMessageBatch<DeliveryMessage>("perch-delivery", [
      {
        id: "z",
        timestamp: new Date(),
        attempts: DELIVERY_MAX_ATTEMPTS,
        body: { ...message, inbox: "https://down.example/inbox" },
      },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks).toEqual(["z"]);
    expect(await rows("SELECT target, error, attempts FROM dead_letters")).toEqual([
      { target: "https://down.example/inbox", error: "HTTP 502", attempts: DELIVERY_MAX_ATTEMPTS },
    ]);
  });
});
