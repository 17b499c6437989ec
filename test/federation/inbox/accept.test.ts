import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { testCtx } from "../../helpers/app";
import { follow } from "../../../worker/services/following";

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
