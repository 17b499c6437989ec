import { describe, expect, it } from "vitest";
import { ACTOR, AS_JSON, BASE, request } from "../../helpers/app";

async function actorDoc() {
  const res = await request("/users/alice", { headers: AS_JSON });
  expect(res.status).toBe(200);
  return { res, doc: (await res.json()) as Record<string, any> };
}

describe("the owner's actor", () => {
  it("is a Person with the endpoints, keys and flags Mastodon reads", async () => {
    const { res, doc } = await actorDoc();
    expect(res.headers.get("content-type")).toMatch(/^application\/activity\+json/);
    expect(res.headers.get("vary")).toContain("Accept");
    expect(doc).toMatchObject({
      id: ACTOR,
      type: "Person",
      preferredUsername: "alice",
      inbox: `${ACTOR}/inbox`,
      outbox: `${ACTOR}/outbox`,
      followers: `${ACTOR}/followers`,
      following: `${ACTOR}/following`,
      featured: `${ACTOR}/collections/featured`,
      endpoints: { sharedInbox: `${BASE}/inbox` },
      manuallyApprovesFollowers: false,
      discoverable: true,
      indexable: true,
      webfinger: "alice@example.com",
      alsoKnownAs: [],
      attachment: [],
    });
    expect(doc.publicKey).toMatchObject({ id: `${ACTOR}#main-key`, owner: ACTOR });
    expect(doc.publicKey.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(doc.assertionMethod[0]).toMatchObject({ type: "Multikey", controller: ACTOR });
    expect(doc.assertionMethod[0].publicKeyMultibase).toMatch(/^z6Mk/);
    expect(JSON.stringify(doc)).not.toMatch(/PRIVATE/);
  });

  it("keeps the same keys across requests (generated once, stored)", async () => {
    const a = (await actorDoc()).doc;
    const b = (await actorDoc()).doc;
    expect(b.publicKey.publicKeyPem).toBe(a.publicKey.publicKeyPem);
    expect(b.assertionMethod[0].publicKeyMultibase).toBe(a.assertionMethod[0].publicKeyMultibase);
  });

  it("serves ld+json with the ActivityStreams profile too", async () => {
    const res = await request("/users/alice", {
      headers: { accept: 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"' },
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/activity\+json/);
  });

  it("sends browsers to the HTML profile page", async () => {
    const res = await request("/users/alice", { headers: { accept: "text/html" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${BASE}/@alice`);
    const page = await request("/@alice", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("@alice@example.com");
  });

  it("answers 404 for another username", async () => {
    expect((await request("/users/bob", { headers: AS_JSON })).status).toBe(404);
  });

  it("has an instance actor (Application) with its own key for signed fetches", async () => {
    const res = await request("/actor", { headers: AS_JSON });
    const doc = (await res.json()) as Record<string, any>;
    expect(doc).toMatchObject({ id: `${BASE}/actor`, type: "Application" });
    expect(doc.publicKey.id).toBe(`${BASE}/actor#main-key`);
    const owner = (await actorDoc()).doc;
    expect(doc.publicKey.publicKeyPem).not.toBe(owner.publicKey.publicKeyPem);
  });
});

describe("the instance actor's collections", () => {
  it("has an empty outbox", async () => {
    const res = await request("/actor/outbox", { headers: AS_JSON });
    expect(await res.json()).toMatchObject({ type: "OrderedCollection", totalItems: 0 });
  });

  it("has an inbox that refuses unsigned requests like the shared inbox", async () => {
    const res = await request("/actor/inbox", { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
  });
});
