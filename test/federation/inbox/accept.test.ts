import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { ACTOR, request, testCtx } from "../../helpers/app";
import { follow, unfollow } from "../../../worker/services/following";
import { findAccountByUri } from "../../../worker/services/accounts";
import type { InboxMessage } from "../../../worker/queues/messages";

let bob: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    [carol.id]: () => activityJson(carol.document),
    [`${bob.id}/inbox`]: () => new Response(null, { status: 202 }),
  });
});
afterEach(() => restoreFetch());

async function followBob() {
  const { follow: row } = await follow(testCtx(), bob.id);
  expect(row.accepted).toBe(false);
  return row;
}

describe("Accept and Reject of the owner's Follow", () => {
  it("Accept (embedding the Follow) makes the follow accepted", async () => {
    const row = await followBob();
    await process({
      id: `${bob.id}#accepts/1`,
      type: "Accept",
      actor: bob.id,
      object: { id: row.uri, type: "Follow" },
    });
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 1 }]);
  });

  it("Accept by bare Follow id works too", async () => {
    const row = await followBob();
    await process({ id: `${bob.id}#accepts/1`, type: "Accept", actor: bob.id, object: row.uri });
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 1 }]);
  });

  it("an Accept whose id a peer reuses for the same follower accepts the follow again after an unfollow", async () => {
    // The peer sends one Accept id per follower, whatever the Follow: through the real inbox both times.
    const accept = (followUri: string) => ({
      id: `${bob.id}#accepts/${encodeURIComponent(ACTOR)}`,
      type: "Accept",
      actor: bob.id,
      object: { id: followUri, type: "Follow", actor: ACTOR, object: bob.id },
    });
    const deliver = async (activity: Record<string, unknown>) => {
      const send = vi.spyOn(env.INBOX_QUEUE, "send");
      expect((await request(await bob.post(`${ACTOR}/inbox`, activity))).status).toBe(202);
      const queued = send.mock.calls.map((c) => c[0] as InboxMessage);
      send.mockRestore();
      for (const m of queued) await process(m.activity as Record<string, unknown>);
    };
    const first = await followBob();
    await deliver(accept(first.uri));
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 1 }]);
    await unfollow(testCtx(), (await findAccountByUri(testCtx(), bob.id))!);
    const second = await followBob();
    await deliver(accept(second.uri));
    expect(await rows("SELECT uri, accepted FROM follows")).toEqual([{ uri: second.uri, accepted: 1 }]);
  });

  it("Accept by someone other than the followed account changes nothing", async () => {
    const row = await followBob();
    await process({ id: `${carol.id}#accepts/1`, type: "Accept", actor: carol.id, object: row.uri });
    expect(await rows("SELECT accepted FROM follows")).toEqual([{ accepted: 0 }]);
  });

  it("Reject removes the follow", async () => {
    const row = await followBob();
    await process({ id: `${bob.id}#rejects/1`, type: "Reject", actor: bob.id, object: row.uri });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
  });
});
