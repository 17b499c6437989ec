/**
 * A second opinion from an independent implementation: Fedify's HTTP signature code. What Fedify
 * signs, Perch verifies; what Perch signs, Fedify verifies; in both draft-cavage and RFC 9421.
 */
import { signRequest as fedifySign, verifyRequest as fedifyVerify } from "@fedify/fedify/sig";
import { describe, expect, it } from "vitest";
import {
  generateRsaKeyPair,
  importPublicKeyPem,
  signRequest,
  verifyRequest,
  type SignatureScheme,
} from "../../../worker/lib/http-signatures";

const ACTOR = "https://remote.example/users/bob";
const KEY_ID = `${ACTOR}#main-key`;
const INBOX = "https://social.example.com/users/alice/inbox";
const BODY = JSON.stringify({
  id: `${ACTOR}#follows/1`,
  type: "Follow",
  actor: ACTOR,
  object: "https://social.example.com/users/alice",
});

async function keys() {
  const pair = await generateRsaKeyPair();
  // Fedify wants an extractable key (it reads the key's parameters); Perch's own import is not.
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.from(atob(pair.privateKey), (c) => c.charCodeAt(0)),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const publicKey = await importPublicKeyPem(pair.publicKeyPem);
  const actor = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: ACTOR,
    type: "Person",
    preferredUsername: "bob",
    inbox: `${ACTOR}/inbox`,
    publicKey: { id: KEY_ID, type: "CryptographicKey", owner: ACTOR, publicKeyPem: pair.publicKeyPem },
  };
  return { privateKey, publicKey, actor };
}

const post = () =>
  new Request(INBOX, {
    method: "POST",
    headers: { "content-type": "application/activity+json" },
    body: BODY,
  });

const specs: [SignatureScheme, "draft-cavage-http-signatures-12" | "rfc9421"][] = [
  ["cavage", "draft-cavage-http-signatures-12"],
  ["rfc9421", "rfc9421"],
];

describe.each(specs)("Fedify cross-check (%s)", (scheme, spec) => {
  it("Perch verifies a POST that Fedify signed", async () => {
    const { privateKey, publicKey } = await keys();
    const signed = await fedifySign(post(), privateKey, new URL(KEY_ID), { spec });
    const body = await signed.clone().arrayBuffer();
    const result = await verifyRequest(signed, async (keyId) => (keyId === KEY_ID ? publicKey : null), {
      body,
    });
    expect(result).toEqual({ ok: true, keyId: KEY_ID, scheme });
  });

  it("Fedify verifies a POST that Perch signed", async () => {
    const { privateKey, actor } = await keys();
    const body = new TextEncoder().encode(BODY);
    const signed = await signRequest(post(), body, { keyId: KEY_ID, privateKey, scheme });
    const key = await fedifyVerify(signed, {
      spec,
      documentLoader: async (url: string) => ({ contextUrl: null, documentUrl: url, document: actor }),
    });
    expect(key?.id?.href).toBe(KEY_ID);
  });

  it("Fedify rejects a POST that Perch signed and that was altered on the way", async () => {
    const { privateKey, actor } = await keys();
    const body = new TextEncoder().encode(BODY);
    const signed = await signRequest(post(), body, { keyId: KEY_ID, privateKey, scheme });
    const tampered = new Request(signed, { body: BODY.replace("Follow", "Block") });
    const key = await fedifyVerify(tampered, {
      spec,
      documentLoader: async (url: string) => ({ contextUrl: null, documentUrl: url, document: actor }),
    });
    expect(key).toBeNull();
  });

  it("Fedify verifies a GET that Perch signed", async () => {
    const { privateKey, actor } = await keys();
    const get = new Request("https://social.example.com/users/alice/outbox", {
      headers: { accept: "application/activity+json" },
    });
    const signed = await signRequest(get, null, { keyId: KEY_ID, privateKey, scheme });
    const key = await fedifyVerify(signed, {
      spec,
      documentLoader: async (url: string) => ({ contextUrl: null, documentUrl: url, document: actor }),
    });
    expect(key?.id?.href).toBe(KEY_ID);
  });
});
