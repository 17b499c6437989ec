import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, request } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";

const INBOX = `${ACTOR}/inbox`;
let bob: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
});
afterEach(() => restoreFetch());

const follow = (actor: RemoteActor, n = 1) => ({
  id: `${actor.id}#follows/${n}-${crypto.randomUUID()}`,
  type: "Follow",
  actor: actor.id,
  object: ACTOR,
});

describe("signing key lookup", () => {
  it("refuses a key whose owner document does not list it", async () => {
    const impostor = await createRemoteActor("https://remote.example/users/bob");
    // The actor at bob's URL lists a different key than the one that signed.
    mockFetch({ [bob.id]: () => activityJson(impostor.document) });
    const res = await request(await bob.post(INBOX, follow(bob)));
    expect(res.status).toBe(401);
  });

  it("refuses a key that claims an owner other than the actor serving it", async () => {
    const doc = {
      ...bob.document,
      publicKey: { ...(bob.document.publicKey as object), owner: "https://evil.example/users/x" },
    };
    mockFetch({ [bob.id]: () => activityJson(doc) });
    expect((await request(await bob.post(INBOX, follow(bob)))).status).toBe(401);
  });

  it("does not fetch a key again within a minute, even when another key signs", async () => {
    const mock = mockFetch({ [bob.id]: () => activityJson(bob.document) });
    expect((await request(await bob.post(INBOX, follow(bob, 1)))).status).toBe(202);
    const rotated = await createRemoteActor("https://remote.example/users/bob");
    mockFetch({ [bob.id]: () => activityJson(rotated.document) });
    // The cached key was fetched moments ago: a refetch is rate-limited, so the new key is refused for now.
    expect((await request(await rotated.post(INBOX, follow(rotated, 2)))).status).toBe(401);
    expect(mock.calls.filter((r) => r.url === bob.id)).toHaveLength(1);
  });

  it("picks up a rotated key by fetching the actor again", async () => {
    mockFetch({ [bob.id]: () => activityJson(bob.document) });
    expect((await request(await bob.post(INBOX, follow(bob, 1)))).status).toBe(202);
    await env.DB.prepare("UPDATE remote_keys SET fetched_at = '2026-01-01T00:00:00Z'").run();
    const rotated = await createRemoteActor("https://remote.example/users/bob");
    const mock = mockFetch({ [bob.id]: () => activityJson(rotated.document) });
    expect((await request(await rotated.post(INBOX, follow(rotated, 2)))).status).toBe(202);
    expect(mock.calls.filter((r) => r.url === bob.id)).toHaveLength(1);
  });

  it("follows a standalone key document to its owner", async () => {
    const keyDoc = {
      id: `${bob.id}/main-key`,
      owner: bob.id,
      publicKeyPem: (bob.document.publicKey as { publicKeyPem: string }).publicKeyPem,
    };
    const actorDoc = {
      ...bob.document,
      publicKey: { id: keyDoc.id, owner: bob.id, publicKeyPem: keyDoc.publicKeyPem },
    };
    const signer = { ...bob, keyId: keyDoc.id };
    mockFetch({ [keyDoc.id]: () => activityJson(keyDoc), [bob.id]: () => activityJson(actorDoc) });
    const { signRequest } = await import("../../worker/lib/http-signatures");
    const body = new TextEncoder().encode(JSON.stringify(follow(bob)));
    const req = await signRequest(
      new Request(INBOX, { method: "POST", body, headers: { "content-type": "application/activity+json" } }),
      body,
      { keyId: signer.keyId, privateKey: bob.privateKey, scheme: "cavage" },
    );
    expect((await request(req)).status).toBe(202);
  });
});
