import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { domainBlocks } from "../../../worker/db/schema";
import { newId } from "../../../worker/lib/ids";
import { ACTOR, testCtx } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";

let bob: RemoteActor;
let fetched: string[];
beforeEach(async () => {
  bob = await createRemoteActor("https://sub.blocked.example/users/bob");
  fetched = [];
  mockFetch({
    [bob.id]: () => {
      fetched.push(bob.id);
      return activityJson(bob.document);
    },
  });
});
afterEach(() => restoreFetch());

describe("blocked domains", () => {
  it("drops every activity from a blocked domain or its subdomains, without fetching the actor", async () => {
    await testCtx().db.insert(domainBlocks).values({ domain: "blocked.example", id: newId() });
    await process({ id: `${bob.id}#follow`, type: "Follow", actor: bob.id, object: ACTOR });
    await process({
      id: `${bob.id}/statuses/1/activity`,
      type: "Create",
      actor: bob.id,
      object: {
        id: `${bob.id}/statuses/1`,
        type: "Note",
        attributedTo: bob.id,
        content: "<p>hi</p>",
        to: [ACTOR],
        tag: [{ type: "Mention", href: ACTOR }],
      },
    });
    expect(await rows("SELECT * FROM follows")).toEqual([]);
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
    expect(await rows("SELECT * FROM notifications")).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it("accepts activities from other domains", async () => {
    await testCtx().db.insert(domainBlocks).values({ domain: "other.example", id: newId() });
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [`${bob.id}/inbox`]: () => new Response(null, { status: 202 }),
    });
    await process({ id: `${bob.id}#follow`, type: "Follow", actor: bob.id, object: ACTOR });
    expect(await rows("SELECT type FROM notifications")).toEqual([{ type: "follow" }]);
  });
});
