import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACTOR } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { owner, process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";

let bob: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  mockFetch({ [bob.id]: () => activityJson(bob.document) });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const followOf = (id = "https://remote.example/follows/1") => ({
  id,
  type: "Follow",
  actor: bob.id,
  object: ACTOR,
});

function sentBodies(spy: { mock: { calls: unknown[][] } }) {
  return spy.mock.calls.flatMap((c) =>
    (c[0] as { body: { inbox: string; body: string } }[]).map((m) => m.body),
  );
}

describe("Follow", () => {
  it("is accepted at once: the follower is recorded and an Accept embedding the Follow goes to its inbox", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process(followOf());
    const follows = await rows<{ accepted: number; uri: string }>("SELECT accepted, uri FROM follows");
    expect(follows).toEqual([{ accepted: 1, uri: "https://remote.example/follows/1" }]);
    const [sent] = sentBodies(send);
    expect(sent?.inbox).toBe(`${bob.id}/inbox`);
    const accept = JSON.parse(sent!.body);
    expect(accept).toMatchObject({
      type: "Accept",
      actor: ACTOR,
      object: { id: "https://remote.example/follows/1", type: "Follow", actor: bob.id, object: ACTOR },
    });
    expect(accept.proof).toMatchObject({ type: "DataIntegrityProof", cryptosuite: "eddsa-jcs-2022" });
  });

  it("stays pending, with no Accept, when the owner approves followers manually", async () => {
    const me = await owner();
    await env.DB.prepare("UPDATE accounts SET manually_approves_followers = 1 WHERE id = ?")
      .bind(me.id)
      .run();
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process(followOf());
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 0 }]);
    expect(send).not.toHaveBeenCalled();
  });

  it("answers a repeated Follow again, with the new Follow's id", async () => {
    await process(followOf("https://remote.example/follows/1"));
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process(followOf("https://remote.example/follows/2"));
    expect(await rows("SELECT uri FROM follows")).toEqual([{ uri: "https://remote.example/follows/2" }]);
    expect(JSON.parse(sentBodies(send)[0]!.body).object.id).toBe("https://remote.example/follows/2");
  });

  it("ignores a Follow of someone else", async () => {
    await process({ ...followOf(), object: "https://social.example.com/users/nobody" });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
  });

  it("from a new follower is rejected once the owner has moved away, and nothing is stored", async () => {
    const me = await owner();
    await env.DB.prepare("UPDATE accounts SET moved_to = ? WHERE id = ?")
      .bind("https://new.example/users/alice", me.id)
      .run();
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process(followOf());
    expect(await rows("SELECT * FROM follows")).toEqual([]);
    const [sent] = sentBodies(send);
    expect(sent?.inbox).toBe(`${bob.id}/inbox`);
    expect(JSON.parse(sent!.body)).toMatchObject({
      type: "Reject",
      actor: ACTOR,
      object: { id: "https://remote.example/follows/1", type: "Follow", actor: bob.id, object: ACTOR },
    });
  });

  it("from a follower who came over from an old account (an alias) is accepted like any other", async () => {
    const me = await owner();
    await env.DB.prepare("UPDATE accounts SET also_known_as = ? WHERE id = ?")
      .bind(JSON.stringify(["https://old.example/users/alice"]), me.id)
      .run();
    await process(followOf());
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 1 }]);
  });

  it("marks the server as federated, locking its identity", async () => {
    await process(followOf());
    expect(await rows("SELECT federated_at IS NOT NULL AS locked FROM instance")).toEqual([{ locked: 1 }]);
  });
});
