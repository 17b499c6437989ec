import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { owner, ownerFollows, process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { PermanentError } from "../../../worker/federation/inbox";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
let bob: RemoteActor;
let bobNew: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  bobNew = await createRemoteActor("https://new.example/users/bob", {
    alsoKnownAs: ["https://remote.example/users/bob"],
  });
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    [bobNew.id]: () => activityJson(bobNew.document),
    [`${bob.id}/inbox`]: () => new Response(null, { status: 202 }),
    [`${bobNew.id}/inbox`]: () => new Response(null, { status: 202 }),
  });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const move = () => ({
  id: `${bob.id}#moves/1`,
  type: "Move",
  actor: bob.id,
  object: bob.id,
  target: bobNew.id,
});

describe("Move", () => {
  it("of a followed account follows the new account (which lists the old one) and unfollows the old", async () => {
    await ownerFollows(bob.document);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process(move());
    const me = await owner();
    const following = await rows<{ uri: string; accepted: number }>(
      "SELECT a.uri, f.accepted FROM follows f JOIN accounts a ON a.id = f.target_account_id WHERE f.account_id = ?",
      me.id,
    );
    expect(following).toEqual([{ uri: bobNew.id, accepted: 0 }]);
    const types = send.mock.calls.flatMap((c) =>
      (c[0] as { body: { body: string } }[]).map((m) => JSON.parse(m.body.body).type),
    );
    expect(types).toEqual(["Follow", "Undo"]);
    expect(await rows("SELECT moved_to FROM accounts WHERE uri = ?", bob.id)).toEqual([
      { moved_to: bobNew.id },
    ]);
  });

  it("is refused when the target does not list the old account in alsoKnownAs", async () => {
    await ownerFollows(bob.document);
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [bobNew.id]: () => activityJson({ ...bobNew.document, alsoKnownAs: [] }),
    });
    await expect(process(move())).rejects.toThrow(PermanentError);
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 1 }]);
  });

  it("onto the owner (the owner's old account moving here) drops the old follow and follows nobody", async () => {
    await ownerFollows(bob.document);
    const me = await owner();
    await env.DB.prepare("UPDATE accounts SET also_known_as = ? WHERE id = ?")
      .bind(JSON.stringify([bob.id]), me.id)
      .run();
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await process({ ...move(), target: me.uri });
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 0 }]);
    const types = send.mock.calls.flatMap((c) =>
      (c[0] as { body: { body: string } }[]).map((m) => JSON.parse(m.body.body).type),
    );
    expect(types).toEqual(["Undo"]);
    expect(await rows("SELECT moved_to FROM accounts WHERE uri = ?", bob.id)).toEqual([{ moved_to: me.uri }]);
  });

  it("onto the owner is refused at once when the owner does not list the old account", async () => {
    await ownerFollows(bob.document);
    const me = await owner();
    await expect(process({ ...move(), target: me.uri })).rejects.toThrow(PermanentError);
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 1 }]);
  });

  it("of an account the owner does not follow only records where it went", async () => {
    await process(move());
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 0 }]);
    expect(await rows("SELECT moved_to FROM accounts WHERE uri = ?", bob.id)).toEqual([
      { moved_to: bobNew.id },
    ]);
  });
});

describe("Add and Remove on the featured collection", () => {
  const pinned = {
    id: "https://remote.example/users/bob/statuses/7",
    type: "Note",
    attributedTo: "https://remote.example/users/bob",
    content: "<p>pinned</p>",
    to: [PUBLIC],
  };

  it("Add pins the actor's own post and Remove unpins it", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document), [pinned.id]: () => activityJson(pinned) });
    const featured = `${bob.id}/collections/featured`;
    await process({ id: `${bob.id}#add/1`, type: "Add", actor: bob.id, object: pinned.id, target: featured });
    expect(await rows("SELECT count(*) AS n FROM pins")).toEqual([{ n: 1 }]);
    await process({
      id: `${bob.id}#remove/1`,
      type: "Remove",
      actor: bob.id,
      object: pinned.id,
      target: featured,
    });
    expect(await rows("SELECT count(*) AS n FROM pins")).toEqual([{ n: 0 }]);
  });

  it("Add to some other collection is ignored", async () => {
    await process({
      id: `${bob.id}#add/2`,
      type: "Add",
      actor: bob.id,
      object: pinned.id,
      target: `${bob.id}/collections/other`,
    });
    expect(await rows("SELECT count(*) AS n FROM pins")).toEqual([{ n: 0 }]);
  });
});
