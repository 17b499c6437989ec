// Loopback fakes of everything a relay subscription talks to, signing with an independent
// implementation (Fedify's HTTP signatures and RsaSignature2017 LD signatures), the way real peers do:
// - origin servers (one per port, so each is its own host) with Person actors, their Notes at their
//   ids and small images, answering 404 for deleted notes;
// - a Mastodon-style relay (a Follow of the Public collection sent to its inbox; it forwards the
//   authors' LD-signed activities, each POST signed by the relay's own key);
// - a LitePub relay (follow its actor; it accepts and follows back; content comes as Announces of
//   object ids), also in the inbox-only form hashtag relays have (`/tag/NAME`, no actor document).
// Every server counts the requests it gets by kind, which is how a benchmark counts Perch's outbound
// requests. JSON-LD contexts come from Fedify's preloaded set only: there is no network here.
import { createServer } from "node:http";
import { generateKeyPair, randomUUID, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import { signJsonLd, signRequest, verifyRequest } from "@fedify/fedify/sig";
// Fedify's own runtime package (a pinned dependency of @fedify/fedify): its bundled contexts.
import { preloadedContexts } from "@fedify/vocab-runtime";

export const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const AS = "https://www.w3.org/ns/activitystreams";
const AP_JSON = "application/activity+json";

/** The context Mastodon puts on statuses and their activities; terms outside it are not signed. */
const MASTODON_CONTEXT = [
  AS,
  {
    ostatus: "http://ostatus.org#",
    atomUri: "ostatus:atomUri",
    inReplyToAtomUri: "ostatus:inReplyToAtomUri",
    conversation: "ostatus:conversation",
    sensitive: "as:sensitive",
    toot: "http://joinmastodon.org/ns#",
    votersCount: "toot:votersCount",
    blurhash: "toot:blurhash",
    focalPoint: { "@container": "@list", "@id": "toot:focalPoint" },
    Hashtag: "as:Hashtag",
  },
];
const ACTOR_CONTEXT = [AS, "https://w3id.org/security/v1"];

/** A 1×1 PNG: what the origins serve as attachments, so that fetching one is visible and counted. */
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** JSON-LD context loader: Fedify's preloaded contexts, and an error for anything else. */
export async function contextLoader(url) {
  const document = preloadedContexts[url];
  if (!document) throw new Error(`JSON-LD context not preloaded: ${url}`);
  return { contextUrl: null, documentUrl: url, document };
}

const generate = promisify(generateKeyPair);

/** An RSA-2048 key pair: the public key as PEM for actor documents, the private key for signing. */
export async function rsaKeyPair() {
  const pair = await generate("rsa", { modulusLength: 2048 });
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ type: "pkcs8", format: "der" }),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  return { publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }), privateKey };
}

/** An activity LD-signed (RsaSignature2017) with `key`, as Mastodon signs what relays forward. */
export async function ldSign(activity, key) {
  return signJsonLd(activity, key.privateKey, new URL(key.keyId), { contextLoader });
}

/** A POST ready to send later: url, headers (draft-cavage signature, as Mastodon signs) and body. */
export async function signedPost(url, activity, key) {
  const body = typeof activity === "string" ? activity : JSON.stringify(activity);
  const request = new Request(url, {
    method: "POST",
    headers: { "content-type": AP_JSON, accept: AP_JSON },
    body,
  });
  const signed = await signRequest(request, key.privateKey, new URL(key.keyId), {
    spec: "draft-cavage-http-signatures-12",
  });
  return { url, headers: Object.fromEntries(signed.headers), body };
}

/**
 * Sends prepared POSTs with `concurrency` in flight: the time taken, the count per status, and the
 * requests that failed on the receiver's side (5xx or no answer) with how long each took.
 */
export async function sendAll(prepared, concurrency = 8) {
  const statuses = new Map();
  const failures = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, prepared.length)) }, async () => {
      while (next < prepared.length) {
        const r = prepared[next++];
        const t = performance.now();
        let status;
        try {
          const res = await fetch(r.url, { method: "POST", headers: r.headers, body: r.body });
          await res.arrayBuffer();
          status = res.status;
        } catch {
          status = "network error";
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (typeof status !== "number" || status >= 500) {
          const { type, id } = JSON.parse(r.body);
          failures.push({ status, type, id, ms: Math.round(performance.now() - t) });
        }
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, statuses, failures };
}

/** Loads ActivityPub documents over loopback (Perch's actors, to verify what it signs), cached. */
function loopbackLoader() {
  const cache = new Map();
  return async (url) => {
    const bare = url.split("#")[0];
    if (!cache.has(bare)) {
      const res = await fetch(bare, { headers: { accept: AP_JSON } });
      if (!res.ok) throw new Error(`${bare}: ${res.status}`);
      cache.set(bare, await res.json());
    }
    return { contextUrl: null, documentUrl: url, document: cache.get(bare) };
  };
}

/**
 * A loopback HTTP server. `handler(req, url, body)` answers `{ kind, status, json?, bytes?, type? }`;
 * every request is counted under its kind (and in `total`).
 */
async function serve(port, handler) {
  const counts = { total: 0 };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const url = new URL(req.url, `http://${req.headers.host}`);
    let answer;
    try {
      answer = await handler(req, url, Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      answer = { kind: "error", status: 500, json: { error: String(e) } };
    }
    counts.total++;
    counts[answer.kind] = (counts[answer.kind] ?? 0) + 1;
    if (answer.json !== undefined) {
      res.writeHead(answer.status ?? 200, { "content-type": AP_JSON });
      res.end(JSON.stringify(answer.json));
    } else if (answer.bytes) {
      res.writeHead(answer.status ?? 200, { "content-type": answer.type ?? "application/octet-stream" });
      res.end(answer.bytes);
    } else {
      res.writeHead(answer.status ?? 404).end();
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${port}`, counts, close: () => server.close() };
}

function actorDocument(id, type, username, publicKeyPem, extra = {}) {
  return {
    "@context": ACTOR_CONTEXT,
    id,
    type,
    preferredUsername: username,
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    followers: `${id}/followers`,
    following: `${id}/following`,
    manuallyApprovesFollowers: false,
    publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem },
    ...extra,
  };
}

/**
 * An origin server with `authors` Person actors (RSA keys each), serving their notes at their ids.
 * `note()` publishes a note; `create()`/`remove()` give the author's LD-signed Create/Delete of it,
 * as Mastodon makes them and a Mastodon-style relay forwards them.
 */
export async function startOrigin(port, { authors = 50, name = `origin-${port}`, sharedInboxes = 1 } = {}) {
  const base = `http://127.0.0.1:${port}`;
  const people = await Promise.all(
    Array.from({ length: authors }, async (_, i) => {
      const username = `user${i}`;
      const id = `${base}/users/${username}`;
      const { publicKeyPem, privateKey } = await rsaKeyPair();
      return {
        username,
        id,
        keyId: `${id}#main-key`,
        privateKey,
        document: actorDocument(id, "Person", username, publicKeyPem, {
          name: `User ${i} of ${name}`,
          url: `${base}/@${username}`,
          // `sharedInboxes` > 1 spreads the authors over that many shared inboxes, as if on as many servers.
          endpoints: {
            sharedInbox: sharedInboxes > 1 ? `${base}/inbox/${i % sharedInboxes}` : `${base}/inbox`,
          },
        }),
      };
    }),
  );
  const byId = new Map(people.map((p) => [p.id, p]));
  const notes = new Map();
  const deleted = new Set();
  let sequence = 0;

  /** What was POSTed here: the inbox path and the activity. */
  const received = [];
  const server = await serve(port, async (req, url, body) => {
    const id = `${base}${url.pathname}`;
    if (req.method !== "GET") {
      try {
        received.push({ path: url.pathname, activity: JSON.parse(body) });
      } catch {
        received.push({ path: url.pathname, activity: null });
      }
      return { kind: "post", status: 202 };
    }
    if (url.pathname.startsWith("/media/")) return { kind: "media", bytes: PIXEL, type: "image/png" };
    if (byId.has(id)) return { kind: "actor", json: byId.get(id).document };
    if (deleted.has(id)) return { kind: "deleted note", status: 404 };
    if (notes.has(id)) return { kind: "note", json: notes.get(id) };
    return { kind: "other", status: 404 };
  });

  /**
   * Publishes a note by `author`: `language` (contentMap), `tags` (Hashtag names without #),
   * `attachments` (how many images on this origin), `replyTo` (a note id).
   */
  function note(author, { text, language = "en", tags = [], attachments = 0, replyTo = null } = {}) {
    const n = ++sequence;
    const id = `${author.id}/statuses/${n}`;
    const published = new Date().toISOString();
    const content = `<p>${text ?? `Post ${n} by ${author.username}`}${tags.map((t) => ` <a href="${base}/tags/${t}" class="mention hashtag" rel="tag">#<span>${t}</span></a>`).join("")}</p>`;
    const doc = {
      "@context": MASTODON_CONTEXT,
      id,
      type: "Note",
      summary: null,
      inReplyTo: replyTo,
      published,
      url: `${base}/@${author.username}/${n}`,
      attributedTo: author.id,
      to: [PUBLIC],
      cc: [`${author.id}/followers`],
      sensitive: false,
      atomUri: id,
      conversation: `tag:127.0.0.1,2026:objectId=${port}-${n}:objectType=Conversation`,
      content,
      contentMap: { [language]: content },
      attachment: Array.from({ length: attachments }, (_, i) => ({
        type: "Document",
        mediaType: "image/png",
        url: `${base}/media/${n}-${i}.png`,
        name: `Image ${i} of post ${n}`,
        blurhash: "U00000fQfQfQfQfQfQfQfQfQfQfQfQfQfQfQ",
        width: 1,
        height: 1,
      })),
      tag: tags.map((t) => ({ type: "Hashtag", href: `${base}/tags/${t}`, name: `#${t}` })),
    };
    notes.set(id, doc);
    return doc;
  }

  /** The author's LD-signed Create of a published note, with the note embedded. */
  function create(doc) {
    const author = byId.get(doc.attributedTo);
    const { "@context": _context, ...object } = doc;
    return ldSign(
      {
        "@context": MASTODON_CONTEXT,
        id: `${doc.id}/activity`,
        type: "Create",
        actor: author.id,
        published: doc.published,
        to: doc.to,
        cc: doc.cc,
        object,
      },
      author,
    );
  }

  /** The author's LD-signed Delete of a note (a Tombstone, as Mastodon sends it). Call `unpublish` too. */
  function remove(doc) {
    const author = byId.get(doc.attributedTo);
    return ldSign(
      {
        "@context": MASTODON_CONTEXT,
        id: `${doc.id}#delete`,
        type: "Delete",
        actor: author.id,
        to: [PUBLIC],
        object: { id: doc.id, type: "Tombstone", atomUri: doc.id },
      },
      author,
    );
  }

  return {
    name,
    base,
    host: `127.0.0.1:${port}`,
    authors: people,
    counts: server.counts,
    received,
    notes,
    note,
    create,
    remove,
    /** From now on the note's id answers 404, as a deleted post's does. */
    unpublish: (id) => deleted.add(id),
    stop: server.close,
  };
}

/**
 * The part both relay styles share: an actor with a key, an inbox that verifies HTTP signatures
 * (Fedify) and records what arrives, the subscribers, and `push`, which POSTs activities signed by
 * the relay's key into every subscriber's shared inbox.
 */
async function startRelay(port, { actorPath, inboxPath, actorType, serveActor, onActivity }) {
  const base = `http://127.0.0.1:${port}`;
  const actor = `${base}${actorPath}`;
  const { publicKeyPem, privateKey } = await rsaKeyPair();
  const key = { keyId: `${actor}#main-key`, privateKey };
  const document = actorDocument(actor, actorType, "relay", publicKeyPem, {
    inbox: `${base}${inboxPath}`,
    endpoints: { sharedInbox: `${base}${inboxPath}` },
  });
  const documentLoader = loopbackLoader();
  /** Every POST received at the inbox: the activity and whether Fedify verified its signature. */
  const received = [];
  /** Subscribers by actor id: their inboxes and the Follow they sent. */
  const subscribers = new Map();
  /** Every activity this relay sent (Accepts, Follows), with the status it got. */
  const sent = [];
  const statuses = new Map();

  const relay = {
    base,
    host: `127.0.0.1:${port}`,
    actor,
    inbox: `${base}${inboxPath}`,
    key,
    received,
    subscribers,
    sent,
    /** Count per status of every pushed activity so far. */
    statuses,
    counts: null,
    /** Sends `activity` signed by the relay to the inbox of `target` (an actor id). */
    async deliver(target, activity) {
      const { document: doc } = await documentLoader(target);
      const prepared = await signedPost(doc.inbox, activity, key);
      const { statuses: s } = await sendAll([prepared], 1);
      const status = [...s.keys()][0];
      sent.push({ activity, status });
      return status;
    },
    /** Signed POSTs of `activities` to every subscriber's shared inbox (or `inbox` if given). */
    async prepare(activities, inbox) {
      const targets = inbox ? [inbox] : [...subscribers.values()].map((s) => s.deliverTo);
      const out = [];
      for (const target of targets) for (const a of activities) out.push(await signedPost(target, a, key));
      return out;
    },
    /** Sends what `prepare` made; statuses are added to `relay.statuses`. */
    async send(prepared, concurrency = 8) {
      const run = await sendAll(prepared, concurrency);
      for (const [s, n] of run.statuses) statuses.set(s, (statuses.get(s) ?? 0) + n);
      return run;
    },
    /** Pushes activities into every subscriber's inbox with `concurrency` in flight. */
    async push(activities, concurrency = 8) {
      return relay.send(await relay.prepare(activities), concurrency);
    },
    /** What went in and out, for a failing run's report. */
    describe: () =>
      `${relay.url}: received ${JSON.stringify(received.map((r) => `${r.activity.type}${r.verified ? "" : " (unverified)"}`))}, ` +
      `sent ${JSON.stringify(sent.map((x) => `${x.activity.type} → ${x.status}`))}, pushed ${JSON.stringify(Object.fromEntries(statuses))}`,
    /** The first received activity matching `test`, or undefined. */
    find: (test) => received.find((r) => test(r.activity))?.activity,
  };

  async function subscribe(follow) {
    const { document: doc } = await documentLoader(follow.actor);
    subscribers.set(follow.actor, {
      follow,
      inbox: doc.inbox,
      deliverTo: doc.endpoints?.sharedInbox ?? doc.inbox,
    });
  }

  const server = await serve(port, async (req, url, body) => {
    const here = `${base}${url.pathname}`;
    if (req.method === "GET") {
      if (here === actor && serveActor) return { kind: "actor", json: document };
      return { kind: "other", status: 404 };
    }
    if (req.method !== "POST" || !relay.acceptsAt(url.pathname)) return { kind: "other", status: 404 };
    let activity;
    try {
      activity = JSON.parse(body);
    } catch {
      return { kind: "inbox", status: 400 };
    }
    const request = new Request(here, { method: "POST", headers: req.headers, body });
    let signer = null;
    try {
      signer = await verifyRequest(request, { documentLoader, contextLoader });
    } catch {
      signer = null;
    }
    received.push({ activity, verified: signer !== null, keyId: signer?.id?.href ?? null });
    if (!signer) return { kind: "inbox", status: 401 };
    // Answer first, as real relays do (their Accept comes from a background job).
    setTimeout(() => onActivity(activity, { subscribe }).catch(() => {}), 10);
    return { kind: "inbox", status: 202 };
  });
  relay.counts = server.counts;
  relay.stop = server.close;
  return relay;
}

const followOf = (activity) => (typeof activity.object === "string" ? activity.object : activity.object?.id);

/**
 * A Mastodon-style relay (pub-relay, Activity-Relay): subscribe by its inbox URL (`relay.url`). A
 * Follow of the Public collection is answered with an Accept embedding the Follow; an Undo of it
 * unsubscribes. `answer: "reject"` answers Reject instead, `"none"` nothing.
 */
export async function startMastodonRelay(port, { answer = "accept" } = {}) {
  let n = 0;
  const relay = await startRelay(port, {
    actorPath: "/actor",
    inboxPath: "/inbox",
    actorType: "Application",
    serveActor: true,
    async onActivity(activity, { subscribe }) {
      if (activity.type === "Follow") {
        if (answer === "none") return;
        if (answer === "accept") await subscribe(activity);
        await relay.deliver(activity.actor, {
          "@context": AS,
          id: `${relay.actor}#${answer}s/${++n}`,
          type: answer === "accept" ? "Accept" : "Reject",
          actor: relay.actor,
          to: [activity.actor],
          object: activity,
        });
      } else if (activity.type === "Undo" && activity.object?.type === "Follow") {
        relay.subscribers.delete(activity.actor);
      }
    },
  });
  relay.url = relay.inbox;
  relay.acceptsAt = (path) => path === "/inbox";
  return relay;
}

/**
 * A LitePub relay (Pleroma's, aode-relay in LitePub mode): subscribe by its actor URL (`relay.url`).
 * It Accepts a Follow of its actor (`object` by id unless `embedAccept`), then follows the subscriber
 * back; `followedBack(actor)` says whether that Follow was accepted. `announce(objectId)` makes the
 * Announce it relays content with.
 * With `tag: "NAME"` it is a hashtag relay in the FediBuzz manner: subscribe by `/tag/NAME`, which is
 * only an inbox (no actor document there); it signs as its `/actor`, does not follow back, and gives
 * its Announces the relayed post's own id.
 */
export async function startLitePubRelay(
  port,
  { tag = null, actorType = "Service", embedAccept = false } = {},
) {
  let n = 0;
  const backFollows = new Map();
  const relay = await startRelay(port, {
    actorPath: tag ? "/actor" : "/relay",
    inboxPath: tag ? "/inbox" : "/relay/inbox",
    actorType,
    serveActor: true,
    async onActivity(activity, { subscribe }) {
      if (activity.type === "Follow" && activity.actor !== relay.actor) {
        await subscribe(activity);
        await relay.deliver(activity.actor, {
          "@context": AS,
          id: `${relay.actor}/activities/accept-${++n}`,
          type: "Accept",
          actor: relay.actor,
          to: [activity.actor],
          object: embedAccept ? activity : activity.id,
        });
        if (tag) return;
        const follow = {
          "@context": AS,
          id: `${relay.actor}/activities/follow-${++n}`,
          type: "Follow",
          actor: relay.actor,
          object: activity.actor,
          to: [activity.actor],
        };
        backFollows.set(follow.id, { target: activity.actor, accepted: false });
        await relay.deliver(activity.actor, follow);
      } else if (activity.type === "Accept") {
        const back = backFollows.get(followOf(activity));
        if (back && back.target === activity.actor) back.accepted = true;
      } else if (activity.type === "Undo" && activity.object?.type === "Follow") {
        relay.subscribers.delete(activity.actor);
      }
    },
  });
  relay.url = tag ? `${relay.base}/tag/${tag}` : relay.actor;
  relay.acceptsAt = (path) => path === new URL(relay.inbox).pathname || (tag && path === `/tag/${tag}`);
  relay.followedBack = (target) => [...backFollows.values()].some((b) => b.target === target && b.accepted);
  relay.announce = (objectId) => ({
    "@context": AS,
    id: tag ? objectId : `${relay.actor}/activities/${randomUUID()}`,
    type: "Announce",
    actor: relay.actor,
    object: objectId,
    to: [`${relay.actor}/followers`, PUBLIC],
    published: new Date().toISOString(),
  });
  return relay;
}
