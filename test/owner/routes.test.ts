import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACTOR, request } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";

const auth = (password = env.OWNER_PASSWORD as string) => ({
  authorization: `Basic ${btoa(`alice:${password}`)}`,
  "content-type": "application/json",
});

let bob: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    "https://remote.example/.well-known/webfinger?resource=acct%3Abob%40remote.example": () =>
      new Response(
        JSON.stringify({
          subject: "acct:bob@remote.example",
          links: [{ rel: "self", type: "application/activity+json", href: bob.id }],
        }),
        {
          headers: { "content-type": "application/jrd+json" },
        },
      ),
  });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

describe("the owner's command API", () => {
  it("answers 401 without the owner password, and with a wrong one", async () => {
    expect((await request("/_perch/owner/statuses")).status).toBe(401);
    const res = await request("/_perch/owner/statuses", { headers: auth("wrong") });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "The access token is invalid" });
  });

  it("follows a remote account by handle: a Follow is queued for its inbox", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const res = await request("/_perch/owner/follow", {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ target: "@bob@remote.example" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ account: bob.id, accepted: false });
    const sent = send.mock.calls[0]![0] as { body: { inbox: string; body: string } }[];
    expect(sent[0]!.body.inbox).toBe(`${bob.id}/inbox`);
    expect(JSON.parse(sent[0]!.body.body)).toMatchObject({ type: "Follow", actor: ACTOR, object: bob.id });
  });

  it("answers 404 for a handle that does not exist", async () => {
    const res = await request("/_perch/owner/follow", {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ target: "nobody@remote.example" }),
    });
    expect(res.status).toBe(404);
  });

  it("answers 422 with the reasons for an invalid body", async () => {
    const res = await request("/_perch/owner/statuses", {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ text: "", visibility: "loud" }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/text.*visibility|visibility.*text/s);
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
  });

  it("answers 422 for a body that is not JSON", async () => {
    const res = await request("/_perch/owner/statuses", { method: "POST", headers: auth(), body: "{" });
    expect(res.status).toBe(422);
  });

  it("posts, edits and deletes a note", async () => {
    const created = await request("/_perch/owner/statuses", {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ text: "hello" }),
    });
    const { id, uri } = (await created.json()) as { id: string; uri: string };
    expect(uri).toBe(`${ACTOR}/statuses/${id}`);
    expect(
      (
        await request(`/_perch/owner/statuses/${id}`, {
          method: "PUT",
          headers: auth(),
          body: JSON.stringify({ text: "hello!" }),
        })
      ).status,
    ).toBe(200);
    expect(await rows("SELECT content FROM statuses")).toEqual([{ content: "<p>hello!</p>" }]);
    expect(
      (await request(`/_perch/owner/statuses/${id}`, { method: "DELETE", headers: auth() })).status,
    ).toBe(200);
    expect(
      (await request(`/_perch/owner/statuses/${id}`, { method: "DELETE", headers: auth() })).status,
    ).toBe(422);
  });
});

describe("a locked identity", () => {
  it("answers 503 with an explanation when the domain changed after federating", async () => {
    await request("/users/alice", { headers: { accept: "application/activity+json" } });
    await env.DB.prepare(
      "UPDATE instance SET federated_at = '2026-01-01T00:00:00Z', web_domain = 'old.example.com'",
    ).run();
    const res = await request("/users/alice", { headers: { accept: "application/activity+json" } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /WEB_DOMAIN from "old.example.com" to "social.example.com"/,
    );
  });
});
