import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { ACTOR } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { process, rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";

let bob: RemoteActor;
let carol: RemoteActor;
let token: string;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({ [bob.id]: () => activityJson(bob.document), [carol.id]: () => activityJson(carol.document) });
  token = await userToken("read write");
});
afterEach(() => restoreFetch());

let seq = 0;
/** A direct message from `actor` to the owner (and `also`), optionally a reply. */
async function dm(actor: RemoteActor, opts: { inReplyTo?: string; also?: RemoteActor[] } = {}) {
  const id = `${actor.id}/statuses/dm${++seq}`;
  const to = [ACTOR, ...(opts.also ?? []).map((a) => a.id)];
  await process({
    id: `${id}/activity`,
    type: "Create",
    actor: actor.id,
    object: {
      id,
      type: "Note",
      attributedTo: actor.id,
      content: `<p>dm ${seq}</p>`,
      published: new Date().toISOString(),
      to,
      cc: [],
      inReplyTo: opts.inReplyTo ?? null,
      tag: to.map((href) => ({ type: "Mention", href, name: href })),
    },
  });
  return id;
}

function expectConversations(body: unknown[]) {
  for (const c of body) expectEntity("Conversation", c);
}

describe("GET /api/v1/conversations", () => {
  it("lists direct threads, newest first, with the other participants and unread state", async () => {
    const first = await dm(bob);
    await dm(carol, { also: [bob] });
    await dm(bob, { inReplyTo: first });
    const res = await api("GET", "/api/v1/conversations", token);
    expect(res.status).toBe(200);
    expectConversations(res.body);
    expect(res.body).toHaveLength(2);
    // bob's reply joined the first conversation and made it the newest.
    expect(res.body[0].last_status.content).toContain("dm 3");
    expect(res.body[0].accounts.map((a: { acct: string }) => a.acct)).toEqual(["bob@remote.example"]);
    expect(res.body[1].accounts.map((a: { acct: string }) => a.acct).sort()).toEqual([
      "bob@remote.example",
      "carol@other.example",
    ]);
    expect(res.body.every((c: { unread: boolean }) => c.unread)).toBe(true);
  });

  it("pages with Link headers", async () => {
    for (let i = 0; i < 3; i++) await dm(bob);
    const page = await api("GET", "/api/v1/conversations?limit=2", token);
    expectConversations(page.body);
    expect(page.body).toHaveLength(2);
    const next = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")?.[1];
    expect(next).toBeDefined();
    const rest = await api("GET", new URL(next as string).pathname + new URL(next as string).search, token);
    expectConversations(rest.body);
    expect(rest.body).toHaveLength(1);
    expect(rest.body[0].id).not.toBe(page.body[0].id);
  });

  it("marks one read and removes one; unknown ids are 404", async () => {
    await dm(bob);
    const [conv] = (await api("GET", "/api/v1/conversations", token)).body;
    const read = await api("POST", `/api/v1/conversations/${conv.id}/read`, token);
    expect(read.status).toBe(200);
    expectEntity("Conversation", read.body);
    expect(read.body.unread).toBe(false);
    expect((await api("DELETE", `/api/v1/conversations/${conv.id}`, token)).body).toEqual({});
    expect((await api("GET", "/api/v1/conversations", token)).body).toEqual([]);
    expect(await rows("SELECT * FROM conversations")).toEqual([]);
    expect((await api("POST", "/api/v1/conversations/123/read", token)).status).toBe(404);
    expect((await api("DELETE", "/api/v1/conversations/abc", token)).status).toBe(404);
  });

  it("needs read:statuses to list and write:conversations to change", async () => {
    expect((await api("GET", "/api/v1/conversations")).status).toBe(401);
    expect((await api("GET", "/api/v1/conversations", await userToken("write"))).status).toBe(403);
    expect((await api("DELETE", "/api/v1/conversations/1", await userToken("read"))).status).toBe(403);
  });
});
