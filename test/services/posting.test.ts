import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACTOR, testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { ownerFollows, process, rows } from "../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";
import { addressing } from "../../worker/services/post-content";
import { deleteNote } from "../../worker/services/post-delete";
import { editNote } from "../../worker/services/post-edit";
import { publishNote } from "../../worker/services/post-publish";
import { queuedDeliveries } from "../helpers/deliveries";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const FOLLOWERS = `${ACTOR}/followers`;

let bob: RemoteActor;
let dan: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  dan = await createRemoteActor("https://remote.example/users/dan");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    [dan.id]: () => activityJson(dan.document),
    [carol.id]: () => activityJson(carol.document),
  });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

async function followedBy(...actors: RemoteActor[]) {
  for (const a of actors) {
    await process({ id: `${a.id}#follow`, type: "Follow", actor: a.id, object: ACTOR });
  }
}

function deliveries(spy: { mock: { calls: unknown[][] } }) {
  return queuedDeliveries(spy.mock.calls);
}

describe("addressing", () => {
  it.each([
    ["public", { to: [PUBLIC], cc: [FOLLOWERS, "m"] }],
    ["unlisted", { to: [FOLLOWERS], cc: [PUBLIC, "m"] }],
    ["private", { to: [FOLLOWERS], cc: ["m"] }],
    ["direct", { to: ["m"], cc: [] }],
  ] as const)("%s posts are addressed as Mastodon addresses them", (visibility, expected) => {
    expect(addressing(FOLLOWERS, visibility, ["m"])).toEqual(expected);
  });
});

describe("publishing a note", () => {
  it("delivers one Create per inbox, shared inboxes deduplicated, with a proof", async () => {
    await followedBy(bob, dan, carol);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const status = await publishNote(testCtx(), { text: "hello", visibility: "public" });
    const sent = deliveries(send);
    expect(sent.map((d) => d.inbox).sort()).toEqual([
      "https://other.example/inbox",
      "https://remote.example/inbox",
    ]);
    expect(sent[0]?.activity).toMatchObject({
      type: "Create",
      actor: ACTOR,
      object: { id: status.uri, type: "Note", content: "<p>hello</p>", to: [PUBLIC], cc: [FOLLOWERS] },
      proof: { cryptosuite: "eddsa-jcs-2022" },
    });
  });

  it("sends a direct note only to the mentioned account, addressed to it alone", async () => {
    await followedBy(bob, carol);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await publishNote(testCtx(), { text: "psst", visibility: "direct", mentions: [carol.id] });
    const sent = deliveries(send);
    expect(sent.map((d) => d.inbox)).toEqual(["https://other.example/inbox"]);
    expect(sent[0]?.activity.object).toMatchObject({ to: [carol.id], cc: [] });
    expect(sent[0]?.activity.object.tag).toEqual([
      { type: "Mention", href: carol.id, name: "@carol@other.example" },
    ]);
  });

  it("refuses a direct note that mentions nobody", async () => {
    await expect(publishNote(testCtx(), { text: "to nobody", visibility: "direct" })).rejects.toThrow(
      /mentioned/,
    );
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
  });

  it("edits federate as Update with the new content and an updated time", async () => {
    await followedBy(bob);
    const status = await publishNote(testCtx(), { text: "v1", visibility: "public" });
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await editNote(testCtx(), status.id, { text: "v2" });
    const [d] = deliveries(send);
    expect(d?.activity).toMatchObject({ type: "Update", object: { id: status.uri, content: "<p>v2</p>" } });
    expect(d?.activity.object.updated).toBeTruthy();
  });

  it("deletes federate as Delete of a Tombstone", async () => {
    await followedBy(bob);
    const status = await publishNote(testCtx(), { text: "bye", visibility: "public" });
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await deleteNote(testCtx(), status.id);
    expect(deliveries(send)[0]?.activity).toMatchObject({
      type: "Delete",
      object: { id: status.uri, type: "Tombstone" },
    });
  });

  it("followers-only posts are not delivered to accounts that are merely known", async () => {
    await ownerFollows(carol.document); // the owner follows carol; carol does not follow the owner
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await publishNote(testCtx(), { text: "friends only", visibility: "private" });
    expect(deliveries(send)).toEqual([]);
  });
});
