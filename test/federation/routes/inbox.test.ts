import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { ACTOR, BASE, request } from "../../helpers/app";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";

const INBOX = `${ACTOR}/inbox`;
let bob: RemoteActor;
let carol: RemoteActor;

function follow(actor: RemoteActor, id = `${actor.id}#follows/${crypto.randomUUID()}`) {
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id,
    type: "Follow",
    actor: actor.id,
    object: ACTOR,
  };
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: string }).error;
}

beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    [carol.id]: () => activityJson(carol.document),
  });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

describe("the inbox fast path", () => {
  it("accepts a cavage-signed Follow with 202 and queues it once", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = follow(bob);
    const res = await request(await bob.post(INBOX, activity));
    expect(res.status).toBe(202);
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0]?.[0]).toMatchObject({ signer: bob.id, activity: { id: activity.id } });
  });

  it("accepts an RFC 9421-signed activity on the shared inbox", async () => {
    const res = await request(await bob.post(`${BASE}/inbox`, follow(bob), { scheme: "rfc9421" }));
    expect(res.status).toBe(202);
  });

  it("answers 202 to a redelivered activity without queueing it again", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = { id: `${bob.id}#likes/1`, type: "Like", actor: bob.id, object: `${ACTOR}/statuses/1` };
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("accepts and ignores an activity type it does not handle", async () => {
    const activity = {
      id: `${bob.id}#listen/1`,
      type: "Listen",
      actor: bob.id,
      object: "https://remote.example/songs/1",
    };
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
  });

  it("caches the signer's key: a second activity does not fetch the actor again", async () => {
    const mock = mockFetch({ [bob.id]: () => activityJson(bob.document) });
    await request(await bob.post(INBOX, follow(bob)));
    await request(await bob.post(INBOX, follow(bob)));
    expect(mock.calls.filter((r) => r.url === bob.id)).toHaveLength(1);
  });

  it("accepts an activity forwarded by a third party when it carries a valid proof by its actor", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const proved = await bob.prove(follow(bob));
    const res = await request(await carol.post(INBOX, proved));
    expect(res.status).toBe(202);
    expect(send.mock.calls[0]?.[0]).toMatchObject({ signer: carol.id, proofVerified: true });
  });
});

describe("the inbox refuses bad input with the right status", () => {
  it("413 for a body over 1 MB by Content-Length", async () => {
    const big = JSON.stringify({ ...follow(bob), padding: "x".repeat(1_100_000) });
    const res = await request(await bob.post(INBOX, null, { body: big }));
    expect(res.status).toBe(413);
  });

  it("413 for a streamed body over 1 MB without Content-Length", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 1_200_000) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await request(new Request(INBOX, { method: "POST", body, headers: { signature: "x" } }));
    expect(res.status).toBe(413);
  });

  it("401 for an unsigned request", async () => {
    const res = await request(INBOX, { method: "POST", body: JSON.stringify(follow(bob)) });
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatch(/not signed/i);
  });

  it("401 for a signature that does not verify", async () => {
    const signed = await bob.post(INBOX, follow(bob));
    const headers = new Headers(signed.headers);
    headers.set("signature", headers.get("signature")!.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA'));
    const res = await request(new Request(signed, { headers }));
    expect(res.status).toBe(401);
  });

  it("400 when the Digest does not match the body", async () => {
    const signed = await bob.post(INBOX, follow(bob));
    const res = await request(new Request(signed, { body: JSON.stringify(follow(bob)) }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(/digest/i);
  });

  it("401 for a signature dated outside the time window", async () => {
    const res = await request(
      await bob.post(INBOX, follow(bob), { now: new Date(Date.now() - 3 * 3600_000) }),
    );
    expect(res.status).toBe(401);
  });

  it("401 when the signing key cannot be found", async () => {
    mockFetch({});
    const res = await request(await bob.post(INBOX, follow(bob)));
    expect(res.status).toBe(401);
  });

  it("400 for a body that is not JSON", async () => {
    const res = await request(await bob.post(INBOX, null, { body: "{not json" }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(/JSON/);
  });

  it("400 for JSON that is not an activity", async () => {
    const res = await request(await bob.post(INBOX, { id: `${bob.id}#x`, actor: bob.id }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(/type/);
  });

  it("401 when the signer is not the activity's actor", async () => {
    const res = await request(await carol.post(INBOX, follow(bob)));
    expect(res.status).toBe(401);
  });

  it("401 for a forwarded activity whose proof does not verify", async () => {
    const proved = await bob.prove(follow(bob));
    (proved as { object: string }).object = `${BASE}/users/someone-else`;
    const res = await request(await carol.post(INBOX, proved));
    expect(res.status).toBe(401);
  });

  it("400 when the activity id is not on the actor's host", async () => {
    const res = await request(await bob.post(INBOX, follow(bob, "https://elsewhere.example/follows/1")));
    expect(res.status).toBe(400);
  });

  it("400 for a Create whose object is not on the actor's host", async () => {
    const create = {
      id: `${bob.id}/statuses/1/activity`,
      type: "Create",
      actor: bob.id,
      object: { id: "https://elsewhere.example/notes/1", type: "Note", attributedTo: bob.id, content: "hi" },
    };
    const res = await request(await bob.post(INBOX, create));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(/host/);
  });
});

describe("forwarded activities", () => {
  it("401 for an Announce forwarded by a third party without its actor's proof", async () => {
    const announce = {
      id: `${bob.id}#boosts/1`,
      type: "Announce",
      actor: bob.id,
      object: `${ACTOR}/statuses/1`,
    };
    expect((await request(await carol.post(INBOX, announce))).status).toBe(401);
  });

  it("202 for a Create forwarded by a third party: the consumer fetches its object from its origin", async () => {
    const create = {
      id: `${bob.id}/statuses/9/activity`,
      type: "Create",
      actor: bob.id,
      object: { id: `${bob.id}/statuses/9`, type: "Note", attributedTo: bob.id, content: "hi" },
    };
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    expect((await request(await carol.post(INBOX, create))).status).toBe(202);
    expect(send.mock.calls[0]?.[0]).toMatchObject({ signer: carol.id, proofVerified: false });
  });
});

describe("inbox addresses", () => {
  it("404 for the inbox of a user that does not exist", async () => {
    const res = await request(await bob.post(`${BASE}/users/nobody/inbox`, follow(bob)));
    expect(res.status).toBe(404);
  });
});

describe("large and deeply nested activities", () => {
  const note = (content: string) => ({
    id: `${bob.id}/statuses/big/activity`,
    type: "Create",
    actor: bob.id,
    object: {
      id: `${bob.id}/statuses/big`,
      type: "Note",
      attributedTo: bob.id,
      content,
      to: ["https://www.w3.org/ns/activitystreams#Public"],
    },
  });

  it("accepts a 500 KB activity, keeps its body in R2 and queues a reference that fits a queue message", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = note(`<p>${"x".repeat(500_000)}</p>`);
    const res = await request(await bob.post(INBOX, activity));
    expect(res.status).toBe(202);
    const queued = send.mock.calls[0]?.[0] as { payload?: string; activity?: unknown; id?: string };
    expect(queued.activity).toBeUndefined();
    expect(queued).toMatchObject({ id: activity.id, type: "Create", signer: bob.id });
    expect(new TextEncoder().encode(JSON.stringify(queued)).byteLength).toBeLessThan(128 * 1024);
    const stored = await env.MEDIA.get(queued.payload as string);
    expect(((await stored?.json()) as { id: string }).id).toBe(activity.id);
  });

  it("queues an ordinary activity inline, without touching R2", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = note("<p>small</p>");
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
    expect(send.mock.calls[0]?.[0]).toMatchObject({ activity: { id: activity.id } });
    expect((await env.MEDIA.list({ prefix: "inbox/" })).objects).toHaveLength(0);
  });

  it("refuses a body that nests deeper than 32 levels with 400, before queueing anything", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    let deep: unknown = "bottom";
    for (let i = 0; i < 5000; i++) deep = [deep];
    const activity = { ...follow(bob), type: "Like", object: `${ACTOR}/statuses/1`, extra: deep };
    const res = await request(await bob.post(INBOX, activity));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(/nests deeper/);
    expect(send).not.toHaveBeenCalled();
  });
});

describe("deduplication", () => {
  const create = (n: number) => ({
    id: `${bob.id}/statuses/${n}/activity`,
    type: "Create",
    actor: bob.id,
    object: `${bob.id}/statuses/${n}`,
  });

  it("does not let a third party's unproven forward claim an id: the genuine activity arriving later is queued", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = create(41);
    expect((await request(await carol.post(INBOX, activity))).status).toBe(202);
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
    expect(send).toHaveBeenCalledTimes(2);
    expect(send.mock.calls[1]?.[0]).toMatchObject({ signer: bob.id });
  });

  it("drops an unproven forward of an activity already received from its actor", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const activity = create(42);
    expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
    expect((await request(await carol.post(INBOX, activity))).status).toBe(202);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it.each(["Accept", "Reject", "Follow", "Undo", "Block", "Move"])(
    "queues a %s again when a peer sends it again with the same id",
    async (type) => {
      const send = vi.spyOn(env.INBOX_QUEUE, "send");
      const activity = { id: `${bob.id}#${type.toLowerCase()}s/same`, type, actor: bob.id, object: ACTOR };
      expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
      expect((await request(await bob.post(INBOX, activity))).status).toBe(202);
      expect(send).toHaveBeenCalledTimes(2);
    },
  );
});

describe("the owner's own activities forwarded back", () => {
  it("answers 202 to the owner's Like forwarded by a peer, and queues nothing", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const like = {
      id: `${ACTOR}#likes/1`,
      type: "Like",
      actor: ACTOR,
      object: `${bob.id}/statuses/1`,
      proof: { type: "DataIntegrityProof", cryptosuite: "eddsa-jcs-2022", proofValue: "z1" },
    };
    const res = await request(await bob.post(INBOX, like));
    expect(res.status).toBe(202);
    expect(send).not.toHaveBeenCalled();
  });

  it("answers 202 to the owner's reply forwarded by a peer, and queues nothing", async () => {
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const reply = {
      id: `${ACTOR}/statuses/1/activity`,
      type: "Create",
      actor: ACTOR,
      object: {
        id: `${ACTOR}/statuses/1`,
        type: "Note",
        attributedTo: ACTOR,
        inReplyTo: `${bob.id}/statuses/1`,
      },
    };
    expect((await request(await bob.post(`${BASE}/inbox`, reply))).status).toBe(202);
    expect(send).not.toHaveBeenCalled();
  });
});
