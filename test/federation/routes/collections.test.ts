import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, AS_JSON, BASE, request, testCtx } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { ownerFollows, process } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { deleteNote } from "../../../worker/services/post-delete";
import { publishNote } from "../../../worker/services/post-publish";

let bob: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  mockFetch({ [bob.id]: () => activityJson(bob.document) });
});
afterEach(() => restoreFetch());

async function get(path: string) {
  const res = await request(path, { headers: AS_JSON });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("collections", () => {
  it("the outbox counts public and unlisted posts and pages them newest first as Create activities", async () => {
    const ctx = testCtx();
    const posts = [];
    for (let i = 0; i < 23; i++)
      posts.push(await publishNote(ctx, { text: `post ${i}`, visibility: "public" }));
    await publishNote(ctx, { text: "secret", visibility: "private" });
    const outbox = await get("/users/alice/outbox");
    expect(outbox.body).toMatchObject({
      type: "OrderedCollection",
      totalItems: 23,
      first: `${ACTOR}/outbox?page=true`,
    });
    const first = await get("/users/alice/outbox?page=true");
    expect(first.body.type).toBe("OrderedCollectionPage");
    expect(first.body.orderedItems).toHaveLength(20);
    expect(first.body.orderedItems[0]).toMatchObject({ type: "Create", object: { id: posts[22]!.uri } });
    const next = await get(new URL(first.body.next).pathname + new URL(first.body.next).search);
    expect(next.body.orderedItems.map((a: any) => a.object.content)).toEqual([
      "<p>post 2</p>",
      "<p>post 1</p>",
      "<p>post 0</p>",
    ]);
    expect(next.body.next).toBeUndefined();
  });

  it("followers lists accepted followers, and following lists accepted follows", async () => {
    await process({ id: `${bob.id}#f`, type: "Follow", actor: bob.id, object: ACTOR });
    const followers = await get("/users/alice/followers");
    expect(followers.body.totalItems).toBe(1);
    expect((await get("/users/alice/followers?page=true")).body.orderedItems).toEqual([bob.id]);
    expect((await get("/users/alice/following")).body.totalItems).toBe(0);
    await ownerFollows(bob.document);
    expect((await get("/users/alice/following?page=true")).body.orderedItems).toEqual([bob.id]);
  });

  it("featured is an OrderedCollection of pinned notes", async () => {
    const featured = await get("/users/alice/collections/featured");
    expect(featured.body).toMatchObject({ type: "OrderedCollection", totalItems: 0, orderedItems: [] });
  });
});

describe("local objects", () => {
  it("a public post's URL serves the Note, and its activity URL the Create", async () => {
    const post = await publishNote(testCtx(), { text: "hello", visibility: "public" });
    const note = await get(new URL(post.uri).pathname);
    expect(note.body).toMatchObject({
      id: post.uri,
      type: "Note",
      attributedTo: ACTOR,
      content: "<p>hello</p>",
    });
    expect(note.body["@context"]).toBeDefined();
    const create = await get(`${new URL(post.uri).pathname}/activity`);
    expect(create.body).toMatchObject({ type: "Create", object: { id: post.uri } });
  });

  it("a browser gets the HTML page for the same post", async () => {
    const post = await publishNote(testCtx(), { text: "for humans", visibility: "public" });
    const res = await request(new URL(post.uri).pathname, { headers: { accept: "text/html" } });
    expect(res.status).toBe(302);
    const page = await request(res.headers.get("location")!);
    expect(await page.text()).toContain("<p>for humans</p>");
  });

  it("a deleted post answers 410 with a Tombstone", async () => {
    const post = await publishNote(testCtx(), { text: "soon gone", visibility: "public" });
    await deleteNote(testCtx(), post.id);
    const res = await get(new URL(post.uri).pathname);
    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ id: post.uri, type: "Tombstone", formerType: "Note" });
  });

  it("a followers-only post is not served to anonymous fetches", async () => {
    const post = await publishNote(testCtx(), { text: "friends", visibility: "private" });
    expect((await get(new URL(post.uri).pathname)).status).toBe(404);
  });

  it("an unknown post answers 404", async () => {
    expect((await get(`/users/alice/statuses/123`)).status).toBe(404);
    expect((await get(`${BASE}/users/alice/statuses/not-a-number`)).status).toBe(404);
  });
});
