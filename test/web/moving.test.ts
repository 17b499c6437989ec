import { env } from "cloudflare:test";
import { Move } from "@fedify/fedify/vocab";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACTOR, AS_JSON, BASE, request } from "../helpers/app";
import { queuedDeliveries } from "../helpers/deliveries";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { process, rows } from "../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";
import { userToken } from "../helpers/oauth";
import { BROWSER, FORM, signIn } from "./owner-session";

let session: { cookie: string; csrf: string };
let old: RemoteActor;
let target: RemoteActor;
let fan1: RemoteActor;
let fan2: RemoteActor;
let fan3: RemoteActor;
let targetDocument: Record<string, unknown>;

const webfinger = (host: string, user: string, actor: string) => ({
  [`https://${host}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${user}@${host}`)}`]: () =>
    new Response(
      JSON.stringify({
        subject: `acct:${user}@${host}`,
        links: [{ rel: "self", type: "application/activity+json", href: actor }],
      }),
      { headers: { "content-type": "application/jrd+json" } },
    ),
});

beforeEach(async () => {
  session = await signIn();
  old = await createRemoteActor("https://old.example/users/alice");
  target = await createRemoteActor("https://new.example/users/alice2", { alsoKnownAs: [ACTOR] });
  targetDocument = target.document;
  fan1 = await createRemoteActor("https://fans.example/users/one");
  fan2 = await createRemoteActor("https://fans.example/users/two");
  fan3 = await createRemoteActor("https://elsewhere.example/users/three");
  mockFetch({
    [old.id]: () => activityJson(old.document),
    // Read at each fetch, so that a test can change what the target lists.
    [target.id]: () => activityJson(targetDocument),
    [fan1.id]: () => activityJson(fan1.document),
    [fan2.id]: () => activityJson(fan2.document),
    [fan3.id]: () => activityJson(fan3.document),
    ...webfinger("old.example", "alice", old.id),
    ...webfinger("new.example", "alice2", target.id),
  });
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

async function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(path, {
    method,
    headers: {
      cookie: session.cookie,
      "x-csrf-token": session.csrf,
      origin: BASE,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.status === 204 ? null : ((await res.json()) as any) };
}

async function actorDocument() {
  return (await (await request("/users/alice", { headers: AS_JSON })).json()) as Record<string, any>;
}

async function followers(...fans: RemoteActor[]) {
  for (const [i, fan] of fans.entries())
    await process({ id: `${fan.id}#follows/${i}`, type: "Follow", actor: fan.id, object: ACTOR });
}

describe("aliases", () => {
  it("are added by handle and by URL, stored as the actor URI, and shown in alsoKnownAs at once", async () => {
    const byHandle = await admin("POST", "/admin/api/aliases", { alias: "@alice@old.example" });
    expect(byHandle).toEqual({ status: 201, json: { aliases: [old.id] } });
    expect((await actorDocument()).alsoKnownAs).toEqual([old.id]);
    const again = await admin("POST", "/admin/api/aliases", { alias: target.id });
    expect(again.json.aliases).toEqual([old.id, target.id]);
    expect((await admin("GET", "/admin/api/aliases")).json).toEqual({ aliases: [old.id, target.id] });
    // Adding one twice changes nothing.
    expect((await admin("POST", "/admin/api/aliases", { alias: old.id })).json.aliases).toEqual([
      old.id,
      target.id,
    ]);
  });

  it("send an Update of the actor, listing the alias, to every follower through the delivery queue", async () => {
    await followers(fan1, fan2, fan3);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    await admin("POST", "/admin/api/aliases", { alias: "alice@old.example" });
    const sent = queuedDeliveries(send.mock.calls);
    expect(sent.map((d) => d.inbox).sort()).toEqual([
      "https://elsewhere.example/inbox",
      "https://fans.example/inbox",
    ]);
    expect(sent[0]?.activity).toMatchObject({
      type: "Update",
      actor: ACTOR,
      object: { id: ACTOR, alsoKnownAs: [old.id] },
    });
    // One queue message carries both inboxes (a pack), not one message per follower.
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("are removed by handle or by the stored URI, and the actor document stops listing them", async () => {
    await admin("POST", "/admin/api/aliases", { alias: old.id });
    await admin("POST", "/admin/api/aliases", { alias: target.id });
    expect(await admin("DELETE", "/admin/api/aliases", { alias: "alice@old.example" })).toEqual({
      status: 200,
      json: { aliases: [target.id] },
    });
    // The stored URI needs no lookup: an old account may be gone.
    restoreFetch();
    mockFetch({});
    expect((await admin("DELETE", "/admin/api/aliases", { alias: target.id })).json).toEqual({ aliases: [] });
    expect((await actorDocument()).alsoKnownAs).toEqual([]);
  });

  it("refuses what cannot be an alias with a clear error and changes nothing", async () => {
    expect(await admin("POST", "/admin/api/aliases", { alias: "nobody@nowhere.example" })).toEqual({
      status: 404,
      json: { error: "No account was found at nobody@nowhere.example" },
    });
    expect(await admin("POST", "/admin/api/aliases", { alias: "alice@example.com" })).toEqual({
      status: 422,
      json: { error: "That is this account itself" },
    });
    expect((await admin("POST", "/admin/api/aliases", { alias: "" })).status).toBe(422);
    expect(await admin("DELETE", "/admin/api/aliases", { alias: old.id })).toEqual({
      status: 404,
      json: { error: `${old.id} is not an alias of this account` },
    });
    expect((await actorDocument()).alsoKnownAs).toEqual([]);
  });

  it("need the owner's session and the CSRF token", async () => {
    const anonymous = await request("/admin/api/aliases", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ alias: old.id }),
    });
    expect(anonymous.status).toBe(401);
    const forged = await admin("POST", "/admin/api/aliases", { alias: old.id }, { "x-csrf-token": "wrong" });
    expect(forged.status).toBe(403);
    const elsewhere = await admin(
      "POST",
      "/admin/api/aliases",
      { alias: old.id },
      { origin: "https://evil.example" },
    );
    expect(elsewhere.status).toBe(403);
    expect((await actorDocument()).alsoKnownAs).toEqual([]);
  });

  it("are managed on the owner page with forms that carry the CSRF token", async () => {
    const page = await request("/admin/moving", { headers: { ...BROWSER, cookie: session.cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="/admin/moving/aliases"');
    const post = (path: string, fields: Record<string, string>) =>
      request(path, {
        method: "POST",
        headers: { ...BROWSER, ...FORM, cookie: session.cookie, origin: BASE },
        body: new URLSearchParams(fields).toString(),
      });
    const added = await post("/admin/moving/aliases", { csrf: session.csrf, alias: "alice@old.example" });
    expect(added.status).toBe(303);
    expect(added.headers.get("location")).toBe("/admin/moving?done=added");
    expect((await actorDocument()).alsoKnownAs).toEqual([old.id]);
    const refused = await post("/admin/moving/aliases", {
      csrf: session.csrf,
      alias: "nobody@nowhere.example",
    });
    expect(refused.status).toBe(404);
    expect(await refused.text()).toContain("No account was found at nobody@nowhere.example");
    const noToken = await post("/admin/moving/aliases/remove", { alias: old.id });
    expect(noToken.status).toBe(403);
    const removed = await post("/admin/moving/aliases/remove", { csrf: session.csrf, alias: old.id });
    expect(removed.status).toBe(303);
    expect((await actorDocument()).alsoKnownAs).toEqual([]);
  });
});

describe("moving out", () => {
  it("is refused with 422 when the target does not list this account as an alias", async () => {
    targetDocument = { ...target.document, alsoKnownAs: [] };
    await followers(fan1);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const res = await admin("POST", "/admin/api/move", {
      target: "alice2@new.example",
      password: env.OWNER_PASSWORD,
    });
    expect(res).toEqual({
      status: 422,
      json: {
        error: `alice2@new.example does not list this account (${ACTOR}) as an alias; add it there first`,
      },
    });
    expect((await actorDocument()).movedTo).toBeUndefined();
    expect(await rows("SELECT count(*) AS n FROM account_moves")).toEqual([{ n: 0 }]);
    expect(send).not.toHaveBeenCalled();
  });

  it("asks for the password again, and a wrong one moves nothing and counts toward the lock", async () => {
    await followers(fan1);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const wrong = await admin("POST", "/admin/api/move", { target: target.id, password: "not it" });
    expect(wrong).toEqual({ status: 422, json: { error: "That password is not right; nothing was moved" } });
    expect((await admin("POST", "/admin/api/move", { target: target.id })).status).toBe(422);
    expect((await actorDocument()).movedTo).toBeUndefined();
    expect(await rows("SELECT count(*) AS n FROM account_moves")).toEqual([{ n: 0 }]);
    expect(send).not.toHaveBeenCalled();
    expect(await rows("SELECT max(failures) AS n FROM login_throttle")).toEqual([{ n: 1 }]);
  });

  it("fetches the target fresh: an alias added there a moment ago counts", async () => {
    targetDocument = { ...target.document, alsoKnownAs: [] };
    expect(
      (await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD })).status,
    ).toBe(422);
    targetDocument = target.document;
    expect(
      (await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD })).status,
    ).toBe(200);
  });

  it("sets movedTo and sends a Move, as Fedify reads it, to every follower's shared inbox in one pack", async () => {
    await followers(fan1, fan2, fan3);
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const res = await admin("POST", "/admin/api/move", {
      target: "@alice2@new.example",
      password: env.OWNER_PASSWORD,
    });
    expect(res).toEqual({ status: 200, json: { movedTo: target.id, inboxes: 2 } });
    const sent = queuedDeliveries(send.mock.calls);
    const moves = sent.filter((d) => d.activity.type === "Move");
    expect(moves.map((d) => d.inbox).sort()).toEqual([
      "https://elsewhere.example/inbox",
      "https://fans.example/inbox",
    ]);
    // The actor's Update goes out too, carrying movedTo, as Mastodon sends it.
    expect(sent.find((d) => d.activity.type === "Update")?.activity.object.movedTo).toBe(target.id);
    // Fedify's vocabulary, with its own preloaded contexts, reads the Move Perch sends.
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(() => {
      throw new Error("no fetch may happen");
    });
    const move = await Move.fromJsonLd(moves[0]!.activity);
    fetchSpy.mockRestore();
    expect(move.id?.href).toMatch(new RegExp(`^${ACTOR}#moves/\\d+$`));
    expect(move.actorId?.href).toBe(ACTOR);
    expect(move.objectId?.href).toBe(ACTOR);
    expect(move.targetId?.href).toBe(target.id);
    expect((await actorDocument()).movedTo).toBe(target.id);
    expect(await rows("SELECT target_uri, followers_count FROM account_moves")).toEqual([
      { target_uri: target.id, followers_count: 3 },
    ]);
  });

  it("shows the move on the profile page and as `moved` on the owner's Mastodon account", async () => {
    await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD });
    const page = await (await request("/@alice", { headers: BROWSER })).text();
    expect(page).toContain('This account has moved to <a href="https://new.example/@alice2"');
    expect(page).toContain("@alice2@new.example");
    const token = await userToken("read");
    const me = (await (
      await request("/api/v1/accounts/verify_credentials", { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Record<string, any>;
    expect(me.moved).toMatchObject({ acct: "alice2@new.example", url: "https://new.example/@alice2" });
  });

  it("is refused while the previous move is less than 30 days old, even after the redirect was removed", async () => {
    expect(
      (await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD })).status,
    ).toBe(200);
    expect(await admin("DELETE", "/admin/api/move")).toEqual({ status: 204, json: null });
    expect((await actorDocument()).movedTo).toBeUndefined();
    const state = (await admin("GET", "/admin/api/move")).json;
    expect(state.movedTo).toBeNull();
    const again = await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD });
    expect(again.status).toBe(422);
    expect(again.json.error).toBe(
      `This account moved less than 30 days ago; it can move again after ${state.cooldownUntil}`,
    );
    // A move 31 days back no longer holds the next one.
    const past = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    await env.DB.prepare("UPDATE account_moves SET created_at = ?").bind(past).run();
    expect(
      (await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD })).status,
    ).toBe(200);
  });

  it("refuses moving onto this account itself or to the account it moved to already", async () => {
    expect(
      (await admin("POST", "/admin/api/move", { target: ACTOR, password: env.OWNER_PASSWORD })).json,
    ).toEqual({
      error: "That is this account itself",
    });
    await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD });
    await env.DB.prepare("UPDATE account_moves SET created_at = '2000-01-01T00:00:00.000Z'").run();
    expect(
      (await admin("POST", "/admin/api/move", { target: target.id, password: env.OWNER_PASSWORD })).json,
    ).toEqual({
      error: "This account has already moved to that account",
    });
  });

  it("is done on the owner page by a CSRF-checked form, and taken back there", async () => {
    const post = (path: string, fields: Record<string, string>) =>
      request(path, {
        method: "POST",
        headers: { ...BROWSER, ...FORM, cookie: session.cookie, origin: BASE },
        body: new URLSearchParams(fields).toString(),
      });
    expect((await post("/admin/moving/move", { target: target.id })).status).toBe(403);
    const moved = await post("/admin/moving/move", {
      csrf: session.csrf,
      target: target.id,
      password: env.OWNER_PASSWORD!,
    });
    expect(moved.headers.get("location")).toBe("/admin/moving?done=moved");
    const page = await (
      await request("/admin/moving", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain("This account has moved to");
    expect(page).toContain("another one is possible after");
    await post("/admin/moving/cancel", { csrf: session.csrf });
    expect((await actorDocument()).movedTo).toBeUndefined();
  });
});
