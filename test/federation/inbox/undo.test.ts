import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { testCtx } from "../../helpers/app";
import { publishNote } from "../../../worker/services/post-publish";

let bob: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({ [bob.id]: () => activityJson(bob.document), [carol.id]: () => activityJson(carol.document) });
});
afterEach(() => restoreFetch());

const follow = {
  id: "https://remote.example/follows/1",
  type: "Follow",
  actor: "https://remote.example/users/bob",
  object: ACTOR,
};

describe("Undo", () => {
  it("of a Follow removes the follower", async () => {
    await process(follow);
    await process({ id: `${follow.id}/undo`, type: "Undo", actor: bob.id, object: follow });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
  });

  it("of a Follow by bare id removes the follower", async () => {
    await process(follow);
    await process({ id: `${follow.id}/undo`, type: "Undo", actor: bob.id, object: follow.id });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
  });

  it("by someone else than the follower changes nothing", async () => {
    await process(follow);
    await process({ id: "https://other.example/undo/1", type: "Undo", actor: carol.id, object: follow.id });
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 1 }]);
  });

  it("of a Like removes the like from the owner's post", async () => {
    const post = await publishNote(testCtx(), { text: "hi", visibility: "public" });
    const like = { id: "https://remote.example/likes/1", type: "Like", actor: bob.id, object: post.uri };
    await process(like);
    expect(await rows("SELECT count(*) AS n FROM favourites")).toEqual([{ n: 1 }]);
    await process({ id: "https://remote.example/likes/1/undo", type: "Undo", actor: bob.id, object: like });
    expect(await rows("SELECT count(*) AS n FROM favourites")).toEqual([{ n: 0 }]);
  });

  it("of an Announce removes the boost", async () => {
    const post = await publishNote(testCtx(), { text: "boost me", visibility: "public" });
    const announce = {
      id: "https://remote.example/boosts/1",
      type: "Announce",
      actor: bob.id,
      object: post.uri,
      to: ["https://www.w3.org/ns/activitystreams#Public"],
    };
    await process(announce);
    expect(await rows("SELECT count(*) AS n FROM statuses WHERE reblog_of_id = ?", post.id)).toEqual([
      { n: 1 },
    ]);
    await process({
      id: "https://remote.example/boosts/1/undo",
      type: "Undo",
      actor: bob.id,
      object: announce,
    });
    expect(await rows("SELECT count(*) AS n FROM statuses WHERE reblog_of_id = ?", post.id)).toEqual([
      { n: 0 },
    ]);
  });

  it("of a Block lifts it", async () => {
    const block = { id: "https://remote.example/blocks/1", type: "Block", actor: bob.id, object: ACTOR };
    await process(block);
    expect(await rows("SELECT count(*) AS n FROM blocks")).toEqual([{ n: 1 }]);
    await process({ id: "https://remote.example/blocks/1/undo", type: "Undo", actor: bob.id, object: block });
    expect(await rows("SELECT count(*) AS n FROM blocks")).toEqual([{ n: 0 }]);
  });
});
