/**
 * RsaSignature2017 Linked Data signatures. The real vector is test/fixtures/vectors/
 * mastodon-2.4.3-delivery.http (a Mastodon 2.4.3 delivery, from noellabo/pub-relay
 * spec/data/signed_post.http, copied from the team's shared vectors with its source noted in
 * http-signatures.json). The .http file holds only the request; the author's public key is the
 * vector's `mastodon_2_4_3_delivery.sender_public_key_spki_base64` in http-signatures.json.
 * Fedify's independent implementation (@fedify/fedify/sig) checks both directions.
 */
import { signJsonLd, verifyJsonLd } from "@fedify/fedify/sig";
import { afterEach, describe, expect, it, vi } from "vitest";
import vectors from "../fixtures/vectors/http-signatures.json";
import delivery from "../fixtures/vectors/mastodon-2.4.3-delivery.http?raw";
import { authenticateDocument } from "../../worker/federation/document-auth";
import { ACTIVITY_CONTEXT } from "../../worker/federation/jsonld";
import { toBase64 } from "../../worker/lib/http-signatures/encoding";
import { signLdSignature, verifyLdSignature, type LdKeyLookup } from "../../worker/lib/ld-signatures";
import { testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { createRemoteActor } from "../helpers/remote-actor";

type Doc = Record<string, any>;

const SENDER_KEY = "https://mastodon.sergal.org/users/Sir_Boops#main-key";
const SENDER = "https://mastodon.sergal.org/users/Sir_Boops";
const SENDER_PEM =
  "-----BEGIN PUBLIC KEY-----\n" +
  vectors.mastodon_2_4_3_delivery.sender_public_key_spki_base64.match(/.{1,64}/g)!.join("\n") +
  "\n-----END PUBLIC KEY-----\n";

/** The delivery's body: a Create carrying a Note, signed by its author. */
const mastodonCreate = (): Doc => JSON.parse(delivery.slice(delivery.search(/\r?\n\r?\n/)).trim());

const senderLookup: LdKeyLookup = async (keyId) =>
  keyId === SENDER_KEY ? { ownerUri: SENDER, publicKeyPem: SENDER_PEM } : null;

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/** A fresh RSA-2048 pair; extractable because Fedify insists on it. */
async function rsaPair(): Promise<{ privateKey: CryptoKey; publicKeyPem: string }> {
  const pair = (await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
  const lines = toBase64(spki)
    .match(/.{1,64}/g)!
    .join("\n");
  return {
    privateKey: pair.privateKey,
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${lines}\n-----END PUBLIC KEY-----\n`,
  };
}

const BOB = "https://remote.example/users/bob";
const BOB_KEY = `${BOB}#main-key`;

/** A Mastodon-shaped public Create, with text that exercises N-Quads escaping. */
function create(actor = BOB): Doc {
  return {
    "@context": [
      "https://www.w3.org/ns/activitystreams",
      "https://w3id.org/security/v1",
      { sensitive: "as:sensitive", Hashtag: "as:Hashtag", toot: "http://joinmastodon.org/ns#" },
    ],
    id: `${actor}/statuses/1/activity`,
    type: "Create",
    actor,
    published: "2026-11-20T10:00:00Z",
    to: ["https://www.w3.org/ns/activitystreams#Public"],
    cc: [`${actor}/followers`],
    object: {
      id: `${actor}/statuses/1`,
      type: "Note",
      attributedTo: actor,
      published: "2026-11-20T10:00:00Z",
      to: ["https://www.w3.org/ns/activitystreams#Public"],
      cc: [`${actor}/followers`],
      sensitive: false,
      content: '<p>Grüße 👋 «quoted» "and\\escaped"\na second line\ttab</p>',
      contentMap: { de: '<p>Grüße 👋 «quoted» "and\\escaped"\na second line\ttab</p>' },
      tag: [{ type: "Hashtag", href: "https://remote.example/tags/caf%C3%A9", name: "#café" }],
    },
  };
}

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// First in the file, so that the first verification is this isolate's first: the cold figure.
describe("CPU cost in workerd", () => {
  it("verifies the Mastodon 2.4.3 Create within the Free plan's 10 ms once the isolate is warm", async () => {
    const doc = mastodonCreate();
    let t = performance.now();
    expect((await verifyLdSignature(doc, senderLookup)).ok).toBe(true);
    const cold = performance.now() - t;
    const runs: number[] = [];
    for (let i = 0; i < 50; i++) {
      t = performance.now();
      expect((await verifyLdSignature(doc, senderLookup)).ok).toBe(true);
      runs.push(performance.now() - t);
    }
    // workerd's clock moves in whole milliseconds: the mean of the 50 runs is the finer figure.
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
    // A Mastodon server not seen before brings its own inline context, processed on first sight.
    const other = mastodonCreate();
    other["@context"][2] = { ...other["@context"][2], blurhash: "toot:blurhash" };
    t = performance.now();
    await verifyLdSignature(other, senderLookup);
    const newInline = performance.now() - t;
    console.log(
      `LD verify in workerd: first in isolate ${cold} ms, then median ${median(runs)} ms ` +
        `(mean ${mean.toFixed(2)} ms) of 50; a new inline context ${newInline} ms`,
    );
    expect(median(runs)).toBeLessThan(10);
  });
});

describe("verifying an RsaSignature2017", () => {
  it("verifies the LD signature of a real Mastodon 2.4.3 delivery", async () => {
    expect(await verifyLdSignature(mastodonCreate(), senderLookup)).toEqual({
      ok: true,
      keyId: SENDER_KEY,
      ownerUri: SENDER,
    });
  });

  it("refuses the delivery once its post's text is changed", async () => {
    const doc = mastodonCreate();
    doc.object.content = doc.object.content.replace("XD", "XP");
    expect(await verifyLdSignature(doc, senderLookup)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses the delivery once its audience is changed", async () => {
    const doc = mastodonCreate();
    doc.cc = [...doc.cc, "https://evil.example/users/eve"];
    expect(await verifyLdSignature(doc, senderLookup)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses the delivery once the signature's created time is changed", async () => {
    const doc = mastodonCreate();
    doc.signature.created = "2018-07-19T14:16:19Z";
    expect(await verifyLdSignature(doc, senderLookup)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("treats a property no context defines, added after signing, as unsigned content", async () => {
    // The RDF is unchanged (the term maps to nothing), so the signature alone would still match it.
    const doc = mastodonCreate();
    doc.object.quoteUrl = "https://evil.example/notes/1";
    expect(await verifyLdSignature(doc, senderLookup)).toMatchObject({
      ok: false,
      reason: "unsigned_content",
    });
  });

  it("answers unknown_context for a context that is not bundled, without looking up a key or fetching", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(() => {
      throw new Error("no fetch may happen");
    });
    const lookup = vi.fn(senderLookup);
    const top = mastodonCreate();
    top["@context"] = [...top["@context"], "https://unknown.example/ns"];
    const scoped = mastodonCreate();
    scoped["@context"][2] = {
      ...scoped["@context"][2],
      focalPoint: { "@id": "toot:focalPoint", "@context": "https://unknown.example/scoped" },
    };
    const nested = mastodonCreate();
    nested.object["@context"] = "https://unknown.example/object";
    for (const doc of [top, scoped, nested]) {
      expect(await verifyLdSignature(doc, lookup)).toEqual({
        ok: false,
        reason: "unknown_context",
        keyId: SENDER_KEY,
      });
    }
    expect(lookup).not.toHaveBeenCalled();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("reports a missing signature, an unsupported type and malformed fields", async () => {
    const unsigned = mastodonCreate();
    delete unsigned.signature;
    expect(await verifyLdSignature(unsigned, senderLookup)).toEqual({ ok: false, reason: "missing" });
    expect(await verifyLdSignature("not a document", senderLookup)).toEqual({ ok: false, reason: "missing" });

    const ed = mastodonCreate();
    ed.signature.type = "Ed25519Signature2018";
    expect(await verifyLdSignature(ed, senderLookup)).toEqual({ ok: false, reason: "unsupported_type" });

    const cases: ((d: Doc) => void)[] = [
      (d) => (d.signature = "RsaSignature2017"),
      (d) => delete d.signature.creator,
      (d) => (d.signature.creator = "urn:key:1"),
      (d) => delete d.signature.signatureValue,
      (d) => (d.signature.signatureValue = "not*base64!"),
      // Invalid JSON-LD: an @id that is not a string.
      (d) => (d.object.id = { nested: true }),
    ];
    for (const mutate of cases) {
      const doc = mastodonCreate();
      mutate(doc);
      expect(await verifyLdSignature(doc, senderLookup)).toMatchObject({ ok: false, reason: "malformed" });
    }
  });

  it("reports a key the lookup cannot find, or that is not an RSA key", async () => {
    expect(await verifyLdSignature(mastodonCreate(), async () => null)).toEqual({
      ok: false,
      reason: "unknown_key",
      keyId: SENDER_KEY,
    });
    const throwing: LdKeyLookup = async () => {
      throw new Error("database unavailable");
    };
    expect(await verifyLdSignature(mastodonCreate(), throwing)).toMatchObject({ reason: "unknown_key" });
    const ed25519 = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const spki = toBase64((await crypto.subtle.exportKey("spki", ed25519.publicKey)) as ArrayBuffer);
    const edPem = `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`;
    expect(
      await verifyLdSignature(mastodonCreate(), async () => ({ ownerUri: SENDER, publicKeyPem: edPem })),
    ).toMatchObject({ reason: "unknown_key" });
  });

  it("refuses the delivery under another RSA key", async () => {
    const { publicKeyPem } = await rsaPair();
    expect(
      await verifyLdSignature(mastodonCreate(), async () => ({ ownerUri: SENDER, publicKeyPem })),
    ).toMatchObject({ ok: false, reason: "bad_signature" });
  });
});

describe("signing an RsaSignature2017", () => {
  it("signs a document that then verifies under the fresh key, as Mastodon shapes the signature", async () => {
    const { privateKey, publicKeyPem } = await rsaPair();
    const created = new Date("2026-11-20T10:00:00.123Z");
    const signed = await signLdSignature(create(), { keyId: BOB_KEY, privateKey, created });
    expect(signed.signature).toEqual({
      type: "RsaSignature2017",
      creator: BOB_KEY,
      created: "2026-11-20T10:00:00Z",
      signatureValue: expect.stringMatching(/^[A-Za-z0-9+/]{342}==$/),
    });
    const lookup: LdKeyLookup = async (keyId) => (keyId === BOB_KEY ? { ownerUri: BOB, publicKeyPem } : null);
    expect(await verifyLdSignature(signed, lookup)).toEqual({ ok: true, keyId: BOB_KEY, ownerUri: BOB });
    const tampered = structuredClone(signed) as Doc;
    tampered.object.contentMap.de = "<p>changed</p>";
    expect(await verifyLdSignature(tampered, lookup)).toMatchObject({ reason: "bad_signature" });
  });

  it("replaces a signature the document already had", async () => {
    const { privateKey, publicKeyPem } = await rsaPair();
    const signed = await signLdSignature(mastodonCreate(), { keyId: BOB_KEY, privateKey });
    expect((signed.signature as Doc).creator).toBe(BOB_KEY);
    expect(await verifyLdSignature(signed, async () => ({ ownerUri: BOB, publicKeyPem }))).toMatchObject({
      ok: true,
    });
  });

  it("covers the FEP-8b32 proof an outgoing activity carries", async () => {
    // Perch's activities carry a Data Integrity proof, a named graph in RDF; the signature covers its
    // triples folded into the default graph, as Mastodon's verifier reads them.
    const bob = await createRemoteActor(BOB);
    const { privateKey, publicKeyPem } = await rsaPair();
    const proven = await bob.prove({ ...create(), "@context": ACTIVITY_CONTEXT });
    const signed = await signLdSignature(proven, { keyId: BOB_KEY, privateKey });
    const lookup: LdKeyLookup = async () => ({ ownerUri: BOB, publicKeyPem });
    expect(await verifyLdSignature(signed, lookup)).toMatchObject({ ok: true });
    const tampered = structuredClone(signed) as Doc;
    tampered.proof.created = "2020-01-01T00:00:00Z";
    expect(await verifyLdSignature(tampered, lookup)).toMatchObject({ reason: "bad_signature" });
  });

  it("refuses to sign a document naming a context that is not bundled", async () => {
    const { privateKey } = await rsaPair();
    const doc = { ...create(), "@context": "https://unknown.example/ns" };
    await expect(signLdSignature(doc, { keyId: BOB_KEY, privateKey })).rejects.toThrow();
  });
});

describe("Fedify cross-check (@fedify/fedify/sig, in workerd)", () => {
  const actorDocument = (publicKeyPem: string) => ({
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: BOB,
    type: "Person",
    preferredUsername: "bob",
    inbox: `${BOB}/inbox`,
    publicKey: { id: BOB_KEY, type: "CryptographicKey", owner: BOB, publicKeyPem },
  });

  it("Perch verifies a document that Fedify signed", async () => {
    const { privateKey, publicKeyPem } = await rsaPair();
    const signed = (await signJsonLd(create(), privateKey, new URL(BOB_KEY), {})) as Doc;
    expect(signed.signature.type).toBe("RsaSignature2017");
    expect(await verifyLdSignature(signed, async () => ({ ownerUri: BOB, publicKeyPem }))).toEqual({
      ok: true,
      keyId: BOB_KEY,
      ownerUri: BOB,
    });
  });

  it("Fedify verifies a document that Perch signed, and refuses it once changed", async () => {
    const { privateKey, publicKeyPem } = await rsaPair();
    const signed = await signLdSignature(create(), { keyId: BOB_KEY, privateKey });
    // Fedify fetches the key through this loader; its contexts come from its own preloaded copies.
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(() => {
      throw new Error("no fetch may happen");
    });
    const documentLoader = async (url: string) => {
      if (url.split("#")[0] !== BOB) throw new Error(`unexpected ${url}`);
      return { contextUrl: null, documentUrl: url, document: actorDocument(publicKeyPem) };
    };
    expect(await verifyJsonLd(signed, { documentLoader })).toBe(true);
    const tampered = structuredClone(signed) as Doc;
    tampered.object.content = "<p>changed</p>";
    expect(await verifyJsonLd(tampered, { documentLoader })).toBe(false);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("authenticating a forwarded document", () => {
  it("answers ld_signature for the actor's own LD signature, fetching the unknown actor once", async () => {
    const bob = await createRemoteActor(BOB);
    const mock = mockFetch({ [BOB]: () => activityJson(bob.document) });
    const signed = await signLdSignature(create(), { keyId: bob.keyId, privateKey: bob.privateKey });
    expect(await authenticateDocument(testCtx(), signed, BOB)).toBe("ld_signature");
    expect(mock.calls.map((r) => r.url)).toEqual([BOB]);
    // The key is cached now: no fetch the second time.
    expect(await authenticateDocument(testCtx(), signed, BOB)).toBe("ld_signature");
    expect(mock.calls).toHaveLength(1);
  });

  it("answers proof for an FEP-8b32 proof by the actor", async () => {
    const bob = await createRemoteActor(BOB);
    mockFetch({ [BOB]: () => activityJson(bob.document) });
    const proven = await bob.prove({ ...create(), "@context": ACTIVITY_CONTEXT });
    expect(await authenticateDocument(testCtx(), proven, BOB)).toBe("proof");
  });

  it("refuses an LD signature by someone other than the actor", async () => {
    const bob = await createRemoteActor(BOB);
    const mallory = await createRemoteActor("https://remote.example/users/mallory");
    mockFetch({
      [BOB]: () => activityJson(bob.document),
      [mallory.id]: () => activityJson(mallory.document),
    });
    // Mallory's key is known (she was fetched before) but it is not Bob's.
    await authenticateDocument(testCtx(), await signLdSignature(create(mallory.id), mallory), mallory.id);
    const forged = await signLdSignature(create(BOB), {
      keyId: mallory.keyId,
      privateKey: mallory.privateKey,
    });
    expect(await authenticateDocument(testCtx(), forged, BOB)).toBeNull();
  });

  it("answers null for an unsigned or badly signed document, fetching the actor at most once", async () => {
    const bob = await createRemoteActor(BOB);
    const mock = mockFetch({ [BOB]: () => activityJson(bob.document) });
    expect(await authenticateDocument(testCtx(), create(), BOB)).toBeNull();
    expect(mock.calls).toHaveLength(0);
    // Both a proof and a signature by keys Bob does not list: the actor is fetched once, not per key.
    const stranger = await createRemoteActor(BOB);
    const proven = await stranger.prove({ ...create(), "@context": ACTIVITY_CONTEXT });
    const both = await signLdSignature(proven, {
      keyId: `${BOB}#other-key`,
      privateKey: stranger.privateKey,
    });
    (both.proof as Doc).verificationMethod = `${BOB}#other-ed25519`;
    expect(await authenticateDocument(testCtx(), both, BOB)).toBeNull();
    expect(mock.calls).toHaveLength(1);
  });
});
