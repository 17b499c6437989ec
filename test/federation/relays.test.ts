import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activityJson, type FetchMock } from "../helpers/fetch-mock";
import { BASE, request, testCtx } from "../helpers/app";
import { ownerFollows, rows } from "../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";
import { signIn } from "../web/owner-session";
import { BUCKETS, flushRelayCounts } from "../../worker/services/relay-accounting";
import { forgetBudgetCache, keepFraction, unitHash } from "../../worker/services/relay-budgets";
import { forgetRelays } from "../../worker/services/relays";
import { forgetOwnerView } from "../../worker/federation/relay-inbox";
import { d1Usage } from "../../worker/db/metered";
import {
  insertRelayPost,
  pruneRelayPosts,
  relayPostValues,
  setRetentionDays,
} from "../../worker/services/relay-posts";
import { resolveAccount } from "../../worker/services/accounts";
import { parseNote } from "../../worker/services/remote-statuses";
import { signLdSignature, verifyLdSignature } from "../../worker/lib/ld-signatures";
import { api } from "../helpers/api";
import { userToken } from "../helpers/oauth";
import { queuedDeliveries } from "../helpers/deliveries";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const SHARED_INBOX = `${BASE}/inbox`;
const INSTANCE_INBOX = `${BASE}/actor/inbox`;

let relay: RemoteActor;
let litepub: RemoteActor;
let bob: RemoteActor;
let fetches: FetchMock;
let notes: Map<string, Record<string, unknown>>;
let session: { cookie: string; csrf: string };

async function admin(method: string, path: string, body?: unknown) {
  const res = await request(path, {
    method,
    headers: {
      cookie: session.cookie,
      "x-csrf-token": session.csrf,
      origin: BASE,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.status === 204 ? null : ((await res.json()) as any) };
}

function note(n: number, extra: Record<string, unknown> = {}) {
  const id = `https://bob.example/users/bob/statuses/${n}`;
  return {
    id,
    type: "Note",
    attributedTo: bob.id,
    content: `<p>Relayed post ${n}</p>`,
    contentMap: { en: `<p>Relayed post ${n}</p>` },
    published: new Date().toISOString(),
    to: [PUBLIC],
    cc: [`${bob.id}/followers`],
    tag: [],
    ...extra,
  };
}

function create(object: Record<string, unknown>) {
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${object.id as string}/activity`,
    type: "Create",
    actor: bob.id,
    published: object.published,
    to: object.to,
    cc: object.cc,
    object,
  };
}

async function relayed(activity: Record<string, unknown>, from = relay) {
  return request(await from.post(SHARED_INBOX, activity));
}

async function buckets(relayId: string) {
  await flushRelayCounts(testCtx());
  const { json } = await admin("GET", `/admin/api/relays/${relayId}/stats`);
  return json.totals as Record<string, number>;
}

/** Subscribes to the Mastodon-style relay and has it accept. */
async function acceptedMastodonRelay(settings: Record<string, unknown> = {}) {
  const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
  const { status, json } = await admin("POST", "/admin/api/relays", {
    url: "https://relay.example/inbox",
    ...settings,
  });
  expect(status).toBe(201);
  const follow = JSON.parse((send.mock.calls.at(-1)?.[0] as { body: string }).body);
  const res = await request(
    await relay.post(INSTANCE_INBOX, {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: "https://relay.example/activities/accept-1",
      type: "Accept",
      actor: relay.id,
      object: follow.id,
    }),
  );
  expect(res.status).toBe(202);
  return { id: json.id as string, follow };
}

beforeEach(async () => {
  forgetRelays();
  forgetOwnerView();
  forgetBudgetCache();
  relay = await createRemoteActor("https://relay.example/actor", { type: "Application" });
  litepub = await createRemoteActor("https://litepub.example/actor", { type: "Application" });
  bob = await createRemoteActor("https://bob.example/users/bob");
  notes = new Map();
  fetches = { calls: [] };
  // The actors, and bob's notes at their ids while present (410 once gone).
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    fetches.calls.push(req.clone());
    const docs: Record<string, Record<string, unknown>> = {
      [relay.id]: relay.document,
      [litepub.id]: litepub.document,
      [bob.id]: bob.document,
    };
    const doc = docs[req.url] ?? notes.get(req.url);
    return doc ? activityJson(doc) : new Response("gone", { status: 410 });
  });
  session = await signIn();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("subscribing to a relay", () => {
  it("sends a Mastodon-style relay the instance actor's Follow of the Public collection, and records its Accept", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const { status, json } = await admin("POST", "/admin/api/relays", { url: "https://relay.example/inbox" });
    expect(status).toBe(201);
    expect(json).toMatchObject({
      protocol: "mastodon",
      state: "pending",
      inbox: "https://relay.example/inbox",
      actorUri: null,
    });
    const message = send.mock.calls[0]?.[0] as { inbox: string; body: string; signer: string };
    expect(message).toMatchObject({ inbox: "https://relay.example/inbox", signer: "instance" });
    const follow = JSON.parse(message.body);
    expect(follow).toMatchObject({ type: "Follow", actor: `${BASE}/actor`, object: PUBLIC, to: [PUBLIC] });

    const accept = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: "https://relay.example/activities/1",
      type: "Accept",
      actor: relay.id,
      // Embedded, as some relays send it.
      object: { ...follow, "@context": undefined },
    };
    expect((await request(await relay.post(INSTANCE_INBOX, accept))).status).toBe(202);
    const [stored] = (await admin("GET", "/admin/api/relays")).json.relays;
    expect(stored).toMatchObject({ state: "accepted", actorUri: relay.id });
    expect(Date.parse(stored.stateChangedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("shows a Reject with the relay's reason, and sends the Follow again on request", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const { json } = await admin("POST", "/admin/api/relays", { url: "https://relay.example/inbox" });
    const follow = JSON.parse((send.mock.calls[0]?.[0] as { body: string }).body);
    await request(
      await relay.post(INSTANCE_INBOX, {
        id: "https://relay.example/activities/2",
        type: "Reject",
        actor: relay.id,
        object: follow.id,
        summary: "<p>Already subscribed</p>",
      }),
    );
    let [row] = (await admin("GET", "/admin/api/relays")).json.relays;
    expect(row).toMatchObject({ state: "rejected", rejectReason: "Already subscribed" });
    const again = await admin("POST", `/admin/api/relays/${json.id}/resubscribe`);
    expect(again.json).toMatchObject({ state: "pending", rejectReason: null });
    expect(send).toHaveBeenCalledTimes(2);
    [row] = (await admin("GET", "/admin/api/relays")).json.relays;
    expect(row.state).toBe("pending");
  });

  it("follows a LitePub relay's actor and accepts its follow back", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const { status, json } = await admin("POST", "/admin/api/relays", { url: litepub.id });
    expect(status).toBe(201);
    expect(json).toMatchObject({ protocol: "litepub", actorUri: litepub.id, inbox: `${litepub.id}/inbox` });
    const follow = JSON.parse((send.mock.calls[0]?.[0] as { body: string }).body);
    expect(follow).toMatchObject({ type: "Follow", object: litepub.id, to: [litepub.id] });
    await request(
      await litepub.post(INSTANCE_INBOX, {
        id: `${litepub.id}#a1`,
        type: "Accept",
        actor: litepub.id,
        object: follow.id,
      }),
    );
    const back = {
      id: `${litepub.id}#follow-back`,
      type: "Follow",
      actor: litepub.id,
      object: `${BASE}/actor`,
    };
    expect((await request(await litepub.post(INSTANCE_INBOX, back))).status).toBe(202);
    const accept = JSON.parse((send.mock.calls[1]?.[0] as { body: string }).body);
    expect(accept).toMatchObject({
      type: "Accept",
      actor: `${BASE}/actor`,
      object: { id: back.id },
      to: [litepub.id],
    });
    expect((send.mock.calls[1]?.[0] as { inbox: string }).inbox).toBe(`${litepub.id}/inbox`);
  });

  it("takes hashtag relays by their path, without looking up an actor", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const url = "https://tags.example/tag/birds";
    const { json } = await admin("POST", "/admin/api/relays", { url });
    expect(json).toMatchObject({ protocol: "litepub", inbox: url });
    expect(fetches.calls.some((r) => r.url === url)).toBe(false);
    expect(JSON.parse((send.mock.calls[0]?.[0] as { body: string }).body)).toMatchObject({
      object: url,
      to: [url],
    });
  });

  it("refuses what is not a relay, a private address, and the same relay twice", async () => {
    expect((await admin("POST", "/admin/api/relays", { url: "javascript:alert(1)" })).status).toBe(422);
    expect((await admin("POST", "/admin/api/relays", { url: "https://10.0.0.1/inbox" })).status).toBe(422);
    expect(
      (await admin("POST", "/admin/api/relays", { url: bob.id.replace("/users/bob", "/nothing") })).status,
    ).toBe(422);
    expect((await admin("POST", "/admin/api/relays", { url: "https://relay.example/inbox" })).status).toBe(
      201,
    );
    expect((await admin("POST", "/admin/api/relays", { url: "https://relay.example/inbox" })).status).toBe(
      409,
    );
  });

  it("sends Undo of the Follow when the relay is removed", async () => {
    const { id, follow } = await acceptedMastodonRelay();
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    expect((await admin("DELETE", `/admin/api/relays/${id}`)).status).toBe(204);
    const undo = JSON.parse((send.mock.calls.at(-1)?.[0] as { body: string }).body);
    expect(undo).toMatchObject({
      type: "Undo",
      actor: `${BASE}/actor`,
      object: { id: follow.id, type: "Follow" },
    });
    expect((await admin("GET", "/admin/api/relays")).json.relays).toEqual([]);
  });

  it("needs the owner's session and its CSRF token", async () => {
    expect((await request("/admin/api/relays")).status).toBe(401);
    const res = await request("/admin/api/relays", {
      method: "POST",
      headers: { cookie: session.cookie, origin: BASE, "content-type": "application/json" },
      body: JSON.stringify({ url: "https://relay.example/inbox" }),
    });
    expect(res.status).toBe(403);
  });
});

describe("relayed content", () => {
  it("stores a relayed Create proven by its author without fetching anything, in two rows", async () => {
    const { id } = await acceptedMastodonRelay();
    const n = note(1);
    const activity = await bob.prove(create(n));
    fetches.calls.length = 0;
    const res = await relayed(activity);
    expect(res.status).toBe(202);
    const stored = await rows<{ uri: string }>("SELECT uri FROM relay_posts");
    expect(stored.map((r) => r.uri)).toEqual([n.id]);
    expect(fetches.calls.filter((r) => r.url === n.id)).toEqual([]);
    expect(await buckets(id)).toMatchObject({ stored: 1 });
  });

  it("stores a relayed Create carrying its author's LD signature (as Mastodon forwards them) without a fetch", async () => {
    const { id } = await acceptedMastodonRelay();
    const n = note(90);
    const signed = await signLdSignature(
      { ...create(n), "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"] },
      { keyId: bob.keyId, privateKey: bob.privateKey },
    );
    fetches.calls.length = 0;
    expect((await relayed(signed)).status).toBe(202);
    expect(fetches.calls.filter((r) => r.url === n.id)).toEqual([]);
    expect(await buckets(id)).toMatchObject({ stored: 1 });
    // Changed after signing: not the author's any more, so it is fetched (and here gone).
    const forged = {
      ...signed,
      id: `${n.id}/activity2`,
      object: { ...n, id: `${n.id}0`, content: "<p>forged</p>" },
    };
    await relayed(forged);
    expect(await buckets(id)).toMatchObject({ stored: 1, unauthenticated: 1 });
  });

  it("fetches an unproven relayed Create from its origin, and counts one that is gone as unauthenticated", async () => {
    const { id } = await acceptedMastodonRelay();
    const a = note(2);
    notes.set(a.id, { "@context": "https://www.w3.org/ns/activitystreams", ...a });
    expect((await relayed(create(a))).status).toBe(202);
    expect(fetches.calls.some((r) => r.url === a.id)).toBe(true);
    const b = note(3);
    expect((await relayed(create(b))).status).toBe(202);
    expect(await buckets(id)).toMatchObject({ stored: 1, unauthenticated: 1 });
    expect((await rows<{ uri: string }>("SELECT uri FROM relay_posts")).map((r) => r.uri)).toEqual([a.id]);
  });

  it("counts a second copy as a duplicate before any fetch, also through a second relay", async () => {
    const { id } = await acceptedMastodonRelay();
    const n = note(4);
    await relayed(await bob.prove(create(n)));
    fetches.calls.length = 0;
    await relayed(create(n));
    expect(fetches.calls).toEqual([]);
    expect(await buckets(id)).toMatchObject({ stored: 1, duplicate: 1 });
  });

  it("applies a relayed Delete on the author's proof or when the origin no longer has the post", async () => {
    const { id } = await acceptedMastodonRelay();
    const a = note(5);
    const b = note(6);
    await relayed(await bob.prove(create(a)));
    await relayed(await bob.prove(create(b)));
    const del = (o: string) => ({
      id: `${o}#delete`,
      type: "Delete",
      actor: bob.id,
      object: { id: o, type: "Tombstone" },
      to: [PUBLIC],
    });
    // Proven by bob: applied (today's fast path answered this 401).
    expect((await relayed(await bob.prove(del(a.id)))).status).toBe(202);
    // Unproven, and the origin still serves it: not applied.
    notes.set(b.id, { "@context": "https://www.w3.org/ns/activitystreams", ...b });
    expect((await relayed(del(b.id))).status).toBe(202);
    expect((await rows<{ uri: string }>("SELECT uri FROM relay_posts")).map((r) => r.uri)).toEqual([b.id]);
    // Unproven, gone at the origin (410): applied.
    notes.delete(b.id);
    await relayed({ ...del(b.id), id: `${b.id}#delete2` });
    expect(await rows("SELECT uri FROM relay_posts")).toEqual([]);
    expect(await buckets(id)).toMatchObject({ stored: 4, unauthenticated: 1 });
  });

  it("stores a LitePub Announce by fetching the object, even when its id is the post's own URL", async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const { json } = await admin("POST", "/admin/api/relays", { url: litepub.id });
    const follow = JSON.parse((send.mock.calls[0]?.[0] as { body: string }).body);
    await request(
      await litepub.post(INSTANCE_INBOX, {
        id: `${litepub.id}#a`,
        type: "Accept",
        actor: litepub.id,
        object: follow.id,
      }),
    );
    const n = note(7);
    notes.set(n.id, { "@context": "https://www.w3.org/ns/activitystreams", ...n });
    // A hashtag relay's Announce: its id is the post's URL, not on the relay's host.
    const announce = {
      id: n.id,
      type: "Announce",
      actor: litepub.id,
      object: n.id,
      to: [`${litepub.id}/followers`],
    };
    expect((await relayed(announce, litepub)).status).toBe(202);
    expect((await rows<{ uri: string }>("SELECT uri FROM relay_posts")).map((r) => r.uri)).toEqual([n.id]);
    expect(await buckets(json.id)).toMatchObject({ stored: 1 });
  });

  it("filters by language and hashtag, and counts a disabled relay's traffic as filtered", async () => {
    const { id } = await acceptedMastodonRelay({ languages: ["de"], tags: [] });
    await relayed(await bob.prove(create(note(8))));
    await relayed(
      await bob.prove(create(note(9, { contentMap: { de: "<p>Hallo</p>" }, content: "<p>Hallo</p>" }))),
    );
    await admin("PATCH", `/admin/api/relays/${id}`, { languages: [], tags: ["#Birds"] });
    await relayed(await bob.prove(create(note(10))));
    await relayed(await bob.prove(create(note(11, { tag: [{ type: "Hashtag", name: "#birds" }] }))));
    await admin("PATCH", `/admin/api/relays/${id}`, { enabled: false });
    await relayed(await bob.prove(create(note(12, { tag: [{ type: "Hashtag", name: "#birds" }] }))));
    expect(await buckets(id)).toMatchObject({ stored: 2, filtered: 3 });
  });

  it("caps by day and by minute before any fetch", async () => {
    const { id } = await acceptedMastodonRelay({ dailyCap: 2, sampling: false });
    for (let i = 20; i < 24; i++) await relayed(await bob.prove(create(note(i))));
    expect(await buckets(id)).toMatchObject({ stored: 2, capped: 2 });
    await admin("PATCH", `/admin/api/relays/${id}`, { dailyCap: 1000, rateCap: 1 });
    forgetBudgetCache();
    const unproven = note(30);
    fetches.calls.length = 0;
    await relayed(await bob.prove(create(note(29))));
    await relayed(create(unproven));
    expect(fetches.calls.some((r) => r.url === unproven.id)).toBe(false);
    expect(await buckets(id)).toMatchObject({ stored: 3, capped: 3 });
  });

  it("counts what is not valid, and every activity in exactly one bucket", async () => {
    const { id } = await acceptedMastodonRelay();
    const body = "{ not json";
    const res = await request(await relay.post(SHARED_INBOX, null, { body }));
    expect(res.status).toBe(400);
    expect((await relayed({ type: "Create", actor: bob.id })).status).toBe(400);
    // A Create whose post names another author.
    await relayed(create({ ...note(40), attributedTo: "https://bob.example/users/mallory" }));
    // Not relay content.
    await relayed({
      id: "https://relay.example/x",
      type: "Like",
      actor: relay.id,
      object: "https://bob.example/1",
    });
    const totals = await buckets(id);
    expect(totals).toMatchObject({ invalid: 3, filtered: 1 });
    expect(BUCKETS.reduce((n, b) => n + (totals[b] ?? 0), 0)).toBe(4);
  });
});

describe("sampling", () => {
  it("keeps everything on pace, and a shrinking share the further ahead of it", () => {
    const noon = new Date("2026-12-01T12:00:00Z");
    expect(keepFraction(2400, 1000, noon)).toBe(1);
    expect(keepFraction(2400, 1300, noon)).toBe(1);
    expect(keepFraction(2400, 2600, noon)).toBeCloseTo(1300 / 2600);
  });

  it("samples a relay ahead of its pace through the inbox, by object id, before any fetch", async () => {
    // Five minutes into the UTC day the pace line of a 240-a-day cap is about 10 posts (an hour's
    // worth of burst): the first ten are kept, then a share shrinking as the count runs ahead.
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-02T00:05:00Z") });
    try {
      const { id } = await acceptedMastodonRelay({ dailyCap: 240, rateCap: 1000, sampling: true });
      forgetBudgetCache();
      const posts = Array.from({ length: 40 }, (_, i) => note(100 + i));
      for (const p of posts) await relayed(await bob.prove(create(p)));
      const { stored = 0, sampled = 0 } = await buckets(id);
      const first = { stored, sampled };
      expect(first.stored).toBeGreaterThanOrEqual(10);
      expect(first.sampled).toBeGreaterThan(0);
      expect(first.stored + first.sampled).toBe(40);
      const kept = await rows<{ uri: string }>("SELECT uri FROM relay_posts");
      expect(kept).toHaveLength(first.stored);
      // Sampled out by its id: a post left out stays out when sent again, and nothing was fetched.
      const left = posts.filter((p) => !kept.some((r) => r.uri === p.id));
      fetches.calls.length = 0;
      for (const p of left.slice(0, 5)) await relayed(await bob.prove(create(p)));
      expect((await buckets(id)).sampled).toBe(first.sampled + Math.min(5, left.length));
      expect(fetches.calls).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("decides by object id, the same every time", async () => {
    const a = await unitHash("https://x.example/1");
    expect(a).toBe(await unitHash("https://x.example/1"));
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    const spread = await Promise.all(
      Array.from({ length: 200 }, (_, i) => unitHash(`https://x.example/${i}`)),
    );
    expect(spread.filter((h) => h < 0.5).length).toBeGreaterThan(70);
    expect(spread.filter((h) => h < 0.5).length).toBeLessThan(130);
  });
});

describe("relayed posts once stored", () => {
  it("show on the federated and hashtag timelines, not at home, and not twice when also a status", async () => {
    await acceptedMastodonRelay();
    const tagged = note(50, { tag: [{ type: "Hashtag", name: "#Birds" }] });
    await relayed(await bob.prove(create(note(51))));
    await relayed(await bob.prove(create(tagged)));
    const token = await userToken();
    const pub = await api("GET", "/api/v1/timelines/public", token);
    expect(pub.body.map((s: { uri: string }) => s.uri)).toEqual([tagged.id, note(51).id]);
    expect(pub.body[0].account.acct).toBe("bob@bob.example");
    expect((await api("GET", "/api/v1/timelines/public?local=true", token)).body).toEqual([]);
    const tag = await api("GET", "/api/v1/timelines/tag/birds", token);
    expect(tag.body.map((s: { uri: string }) => s.uri)).toEqual([tagged.id]);
    expect((await api("GET", "/api/v1/timelines/home", token)).body).toEqual([]);
    // Paging: the second page of one.
    const first = await api("GET", "/api/v1/timelines/public?limit=1", token);
    const second = await api("GET", `/api/v1/timelines/public?limit=1&max_id=${first.body[0].id}`, token);
    expect(second.body.map((s: { uri: string }) => s.uri)).toEqual([note(51).id]);
  });

  it("with a tag the owner follows is stored as a status and shows at home", async () => {
    await acceptedMastodonRelay();
    const token = await userToken();
    expect((await api("POST", "/api/v1/tags/birds/follow", token)).status).toBe(200);
    forgetOwnerView();
    const n = note(55, { tag: [{ type: "Hashtag", name: "#Birds" }] });
    await relayed(await bob.prove(create(n)));
    expect(await rows("SELECT id FROM relay_posts")).toEqual([]);
    const home = await api("GET", "/api/v1/timelines/home", token);
    expect(home.body.map((s: { uri: string }) => s.uri)).toEqual([n.id]);
  });

  it("by an account the owner follows is stored as a status, at home", async () => {
    await acceptedMastodonRelay();
    await ownerFollows(bob.document);
    forgetOwnerView();
    const n = note(56);
    await relayed(await bob.prove(create(n)));
    expect(await rows("SELECT id FROM relay_posts")).toEqual([]);
    const home = await api("GET", "/api/v1/timelines/home", await userToken());
    expect(home.body.map((s: { uri: string }) => s.uri)).toEqual([n.id]);
  });

  it("becomes a status, with the same id, when the owner favourites it, and is then never pruned", async () => {
    await acceptedMastodonRelay();
    const n = note(60);
    await relayed(await bob.prove(create(n)));
    const token = await userToken();
    const [shown] = (await api("GET", "/api/v1/timelines/public", token)).body;
    const fav = await api("POST", `/api/v1/statuses/${shown.id}/favourite`, token);
    expect(fav.status).toBe(200);
    expect(fav.body).toMatchObject({ id: shown.id, favourited: true, uri: n.id });
    expect(await rows("SELECT id FROM relay_posts")).toEqual([]);
    expect(await rows<{ id: string }>("SELECT id FROM statuses WHERE uri = ?", n.id)).toEqual([
      { id: shown.id },
    ]);
    // Shown once on the federated timeline, as the status.
    const pub = await api("GET", "/api/v1/timelines/public", token);
    expect(pub.body.map((s: { id: string; favourited: boolean }) => [s.id, s.favourited])).toEqual([
      [shown.id, true],
    ]);
  });

  it("are found by search, as long as their author allows it", async () => {
    await acceptedMastodonRelay();
    await relayed(
      await bob.prove(create(note(62, { content: "<p>A heron by the river</p>", contentMap: undefined }))),
    );
    await relayed(
      await bob.prove(create(note(63, { content: "<p>Nothing here</p>", contentMap: undefined }))),
    );
    // Accounts that do not say they are indexable are not searched (as Mastodon does).
    await env.DB.prepare("UPDATE accounts SET indexable = 1 WHERE uri = ?").bind(bob.id).run();
    const token = await userToken();
    const found = await api("GET", "/api/v2/search?q=heron&type=statuses", token);
    expect(found.body.statuses.map((s: { uri: string }) => s.uri)).toEqual([note(62).id]);
    await env.DB.prepare("UPDATE accounts SET indexable = 0 WHERE uri = ?").bind(bob.id).run();
    expect((await api("GET", "/api/v2/search?q=heron&type=statuses", token)).body.statuses).toEqual([]);
  });

  it("count toward trending tags", async () => {
    await acceptedMastodonRelay();
    await relayed(await bob.prove(create(note(64, { tag: [{ type: "Hashtag", name: "#Herons" }] }))));
    await relayed(await bob.prove(create(note(65, { tag: [{ type: "Hashtag", name: "#Herons" }] }))));
    await relayed(await bob.prove(create(note(66, { tag: [{ type: "Hashtag", name: "#Owls" }] }))));
    const trends = await api("GET", "/api/v1/trends/tags", await userToken());
    expect(trends.body.map((t: { name: string }) => t.name)).toEqual(["herons", "owls"]);
  });

  it("is seen by anyone without becoming a status", async () => {
    await acceptedMastodonRelay();
    await relayed(await bob.prove(create(note(61))));
    const [row] = await rows<{ id: string }>("SELECT id FROM relay_posts");
    const res = await api("GET", `/api/v1/statuses/${row?.id}`);
    expect(res.status).toBe(200);
    expect(await rows("SELECT id FROM relay_posts")).toHaveLength(1);
  });

  it("is pruned by arrival once older than the retention", async () => {
    await acceptedMastodonRelay();
    await relayed(await bob.prove(create(note(70))));
    await relayed(await bob.prove(create(note(71))));
    const ctx = testCtx();
    expect(await pruneRelayPosts(ctx)).toBe(0);
    await setRetentionDays(ctx, 2);
    expect(await pruneRelayPosts(ctx, { now: new Date(Date.now() + 3 * 86_400_000) })).toBe(2);
    expect(await rows("SELECT id FROM relay_posts")).toEqual([]);
  });

  it("costs two rows written to store and two to prune (D1's own count, indexes included)", async () => {
    const { id } = await acceptedMastodonRelay();
    const ctx = testCtx();
    const author = await resolveAccount(ctx, bob.id);
    const values = await relayPostValues(parseNote(note(80)), author, id);
    if (!values) throw new Error("not stored");
    const before = { ...d1Usage };
    expect(await insertRelayPost(ctx, values)).toBe(true);
    expect(d1Usage.rowsWritten - before.rowsWritten).toBe(2);
    // The same post again: nothing written.
    const again = { ...d1Usage };
    expect(await insertRelayPost(ctx, { ...values, id: `${values.id.slice(0, -1)}9` })).toBe(false);
    expect(d1Usage.rowsWritten - again.rowsWritten).toBe(0);
    const r = await env.DB.prepare("DELETE FROM relay_posts WHERE id = ?").bind(values.id).run();
    expect(r.meta.rows_written).toBeLessThanOrEqual(2);
  });
});

describe("the owner's posts and Mastodon-style relays", () => {
  it("sends public posts to accepted relays with the owner's LD signature, and nothing private", async () => {
    await acceptedMastodonRelay();
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const token = await userToken();
    await api("POST", "/api/v1/statuses", token, { status: "Hello relays", visibility: "public" });
    const toRelay = sendBatch.mock.calls
      .flatMap((c) => [...c[0]])
      .map((m) => m.body as { inbox: string; body: string });
    const msg = toRelay.find((m) => m.inbox === "https://relay.example/inbox");
    expect(msg).toBeDefined();
    const doc = JSON.parse(msg?.body ?? "{}");
    expect(doc).toMatchObject({
      type: "Create",
      signature: { type: "RsaSignature2017", creator: `${BASE}/users/alice#main-key` },
    });
    expect(doc.proof).toBeUndefined();
    const ok = await verifyLdSignature(doc, async () => {
      const { row } = await testCtx().instance();
      return { ownerUri: `${BASE}/users/alice`, publicKeyPem: row.rsaPublicKeyPem };
    });
    expect(ok.ok).toBe(true);
    sendBatch.mockClear();
    await api("POST", "/api/v1/statuses", token, { status: "Just followers", visibility: "private" });
    const later = queuedDeliveries(sendBatch.mock.calls as unknown[][]).map((d) => d.inbox);
    expect(later).not.toContain("https://relay.example/inbox");
  });
});

describe("an activity forwarded by a third party that is not a relay", () => {
  it("is its actor's when it carries the actor's LD signature: a forwarded Delete is accepted, not 401", async () => {
    const carol = await createRemoteActor("https://carol.example/users/carol");
    notes.set(carol.id, carol.document);
    const send = vi.spyOn(env.INBOX_QUEUE, "send");
    const del = {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
      id: `${bob.id}/statuses/1#delete`,
      type: "Delete",
      actor: bob.id,
      object: { id: `${bob.id}/statuses/1`, type: "Tombstone" },
      to: [PUBLIC],
    };
    const unsigned = await request(await carol.post(SHARED_INBOX, del));
    expect(unsigned.status).toBe(401);
    const signed = await signLdSignature(del, { keyId: bob.keyId, privateKey: bob.privateKey });
    const res = await request(await carol.post(SHARED_INBOX, signed));
    expect(res.status).toBe(202);
    expect(send.mock.calls.at(-1)?.[0]).toMatchObject({ signer: carol.id, proofVerified: true });
  });
});
