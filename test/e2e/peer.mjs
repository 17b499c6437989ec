// A minimal ActivityPub peer for the end-to-end run, built on an independent implementation of HTTP
// signatures (Fedify's): one actor with one post, on loopback. It verifies what Perch sends it with
// Fedify, answers a Follow with an Accept whose id it reuses for the same follower (as some servers
// do), and can forward an activity it received to another inbox the way a server forwards
// interactions on its posts to its followers.
import { createServer } from "node:http";
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { signRequest, verifyRequest } from "@fedify/fedify/sig";

export async function startPeer(port, username = "carol") {
  const base = `http://127.0.0.1:${port}`;
  const actor = `${base}/users/${username}`;
  const keyId = `${actor}#main-key`;
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" });
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ type: "pkcs8", format: "der" }),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const note = `${actor}/notes/1`;
  const documents = {
    [actor]: {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
      id: actor,
      type: "Person",
      preferredUsername: username,
      name: "Carol (independent peer)",
      inbox: `${actor}/inbox`,
      outbox: `${actor}/outbox`,
      followers: `${actor}/followers`,
      following: `${actor}/following`,
      manuallyApprovesFollowers: false,
      publicKey: { id: keyId, owner: actor, publicKeyPem },
    },
    [note]: {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: note,
      type: "Note",
      attributedTo: actor,
      content: "<p>A post by an independent peer</p>",
      published: new Date().toISOString(),
      to: ["https://www.w3.org/ns/activitystreams#Public"],
      cc: [`${actor}/followers`],
    },
  };
  /** Every activity received, with the raw body and whether Fedify verified its signature. */
  const received = [];
  const followers = new Map();

  const documentLoader = async (url) => {
    const res = await fetch(url, { headers: { accept: "application/activity+json" } });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return { contextUrl: null, documentUrl: url, document: await res.json() };
  };

  async function send(inbox, activity) {
    const body = JSON.stringify(activity);
    const request = new Request(inbox, {
      method: "POST",
      headers: { "content-type": "application/activity+json" },
      body,
    });
    const signed = await signRequest(request, privateKey, new URL(keyId), {
      spec: "draft-cavage-http-signatures-12",
    });
    const res = await fetch(signed);
    await res.arrayBuffer();
    return res.status;
  }

  const server = createServer(async (req, res) => {
    const url = `${base}${req.url}`;
    if (req.method === "GET" && documents[url.split("#")[0]]) {
      res.writeHead(200, { "content-type": "application/activity+json" });
      return res.end(JSON.stringify(documents[url.split("#")[0]]));
    }
    if (req.method === "POST" && url === `${actor}/inbox`) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks).toString("utf8");
      const request = new Request(url, { method: "POST", headers: req.headers, body });
      let key = null;
      try {
        key = await verifyRequest(request, { documentLoader });
      } catch {
        key = null;
      }
      const activity = JSON.parse(body);
      received.push({ activity, body, verified: key !== null, keyId: key?.id?.href ?? null });
      res.writeHead(key ? 202 : 401).end();
      if (!key) return;
      if (activity.type === "Follow") {
        followers.set(activity.actor, activity.id);
        const follower = await documentLoader(activity.actor);
        // One Accept id per follower, whatever the Follow: a second Accept repeats the first one's id.
        await send(follower.document.inbox, {
          "@context": "https://www.w3.org/ns/activitystreams",
          id: `${actor}#accepts/${encodeURIComponent(activity.actor)}`,
          type: "Accept",
          actor,
          object: activity,
        });
      }
      if (activity.type === "Undo" && activity.object?.type === "Follow") followers.delete(activity.actor);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    base,
    actor,
    note,
    received,
    followers,
    send,
    stop: () => server.close(),
  };
}
