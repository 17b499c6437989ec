import { describe, expect, it, vi } from "vitest";
import {
  generateRsaKeyPair,
  importPublicKeyPem,
  importRsaPrivateKey,
  signRequest,
  verifyRequest,
  type KeyLookup,
  type SignatureScheme,
} from "../../../worker/lib/http-signatures";

const KEY_ID = "https://remote.example/users/bob#main-key";
const URL_ = "https://social.example.com/users/alice/inbox";
const BODY = '{"type":"Follow"}';

async function pair() {
  const p = await generateRsaKeyPair();
  return {
    privateKey: await importRsaPrivateKey(p.privateKey),
    publicKey: await importPublicKeyPem(p.publicKeyPem),
  };
}

async function signedPost(
  scheme: SignatureScheme,
  privateKey: CryptoKey,
  opts: { now?: Date; body?: string } = {},
) {
  const body = new TextEncoder().encode(opts.body ?? BODY);
  return signRequest(
    new Request(URL_, { method: "POST", headers: { "content-type": "application/activity+json" }, body }),
    body,
    {
      keyId: KEY_ID,
      privateKey,
      scheme,
      ...(opts.now ? { now: opts.now } : {}),
    },
  );
}

const bodyOf = async (r: Request) => r.clone().arrayBuffer();

describe.each(["cavage", "rfc9421"] as const)("%s", (scheme) => {
  it("a signed POST verifies, with its digest header", async () => {
    const { privateKey, publicKey } = await pair();
    const req = await signedPost(scheme, privateKey);
    expect(req.headers.get(scheme === "cavage" ? "digest" : "content-digest")).toBeTruthy();
    expect(await verifyRequest(req, async () => publicKey, { body: await bodyOf(req) })).toEqual({
      ok: true,
      keyId: KEY_ID,
      scheme,
    });
  });

  it("a signed GET verifies", async () => {
    const { privateKey, publicKey } = await pair();
    const req = await signRequest(
      new Request(URL_, { headers: { accept: "application/activity+json" } }),
      null,
      { keyId: KEY_ID, privateKey, scheme },
    );
    expect(await verifyRequest(req, async () => publicKey, { body: null })).toMatchObject({ ok: true });
  });

  it("bad_signature with another key", async () => {
    const { privateKey } = await pair();
    const other = await pair();
    const req = await signedPost(scheme, privateKey);
    expect(await verifyRequest(req, async () => other.publicKey, { body: await bodyOf(req) })).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("bad_signature when the method or path was changed", async () => {
    const { privateKey, publicKey } = await pair();
    const req = await signedPost(scheme, privateKey);
    const moved = new Request(URL_.replace("/inbox", "/outbox"), {
      method: "POST",
      headers: req.headers,
      body: await bodyOf(req),
    });
    expect(await verifyRequest(moved, async () => publicKey, { body: await bodyOf(moved) })).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("digest_mismatch when the body was changed", async () => {
    const { privateKey, publicKey } = await pair();
    const req = await signedPost(scheme, privateKey);
    const body = new TextEncoder().encode('{"type":"Block"}').buffer as ArrayBuffer;
    expect(await verifyRequest(req, async () => publicKey, { body })).toMatchObject({
      ok: false,
      reason: "digest_mismatch",
    });
  });

  it("expired for a signature made more than an hour ago, future for one more than an hour ahead", async () => {
    const { privateKey, publicKey } = await pair();
    const old = await signedPost(scheme, privateKey, { now: new Date(Date.now() - 61 * 60_000) });
    expect(await verifyRequest(old, async () => publicKey, { body: await bodyOf(old) })).toMatchObject({
      reason: "expired",
    });
    const ahead = await signedPost(scheme, privateKey, { now: new Date(Date.now() + 61 * 60_000) });
    expect(await verifyRequest(ahead, async () => publicKey, { body: await bodyOf(ahead) })).toMatchObject({
      reason: "future",
    });
    const recent = await signedPost(scheme, privateKey, { now: new Date(Date.now() - 59 * 60_000) });
    expect(await verifyRequest(recent, async () => publicKey, { body: await bodyOf(recent) })).toMatchObject({
      ok: true,
    });
  });

  it("unknown_key when no key is found, after asking once more with refresh", async () => {
    const { privateKey } = await pair();
    const req = await signedPost(scheme, privateKey);
    const lookup = vi.fn<KeyLookup>(async () => null);
    expect(await verifyRequest(req, lookup, { body: await bodyOf(req) })).toMatchObject({
      ok: false,
      reason: "unknown_key",
    });
    expect(lookup.mock.calls).toEqual([
      [KEY_ID, false],
      [KEY_ID, true],
    ]);
  });

  it("picks up a rotated key on the refresh lookup, asking at most twice", async () => {
    const old = await pair();
    const current = await pair();
    const req = await signedPost(scheme, current.privateKey);
    const lookup = vi.fn<KeyLookup>(async (_id, refresh) => (refresh ? current.publicKey : old.publicKey));
    expect(await verifyRequest(req, lookup, { body: await bodyOf(req) })).toMatchObject({ ok: true });
    expect(lookup).toHaveBeenCalledTimes(2);
  });
});

describe("rejections that depend on the format", () => {
  it("missing without any signature header", async () => {
    const req = new Request(URL_, { method: "POST", body: BODY });
    expect(await verifyRequest(req, async () => null, { body: await bodyOf(req) })).toEqual({
      ok: false,
      reason: "missing",
    });
  });

  it.each([
    ["a cavage header without a signature", 'keyId="https://x.example/k"'],
    ["a cavage header that is not key=value", "garbage"],
    [
      "a cavage signature that is not base64",
      'keyId="https://x.example/k",headers="(request-target) host date",signature="***"',
    ],
  ])("malformed: %s", async (_name, header) => {
    const req = new Request(URL_, { headers: { signature: header, date: new Date().toUTCString() } });
    expect(await verifyRequest(req, async () => null, { body: null })).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });

  it("malformed: an RFC 9421 Signature-Input that is not a structured field", async () => {
    const req = new Request(URL_, { headers: { "signature-input": "sig1=(((", signature: "sig1=:AAAA:" } });
    expect(await verifyRequest(req, async () => null, { body: null })).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });

  it("unsupported_algorithm for an algorithm Perch does not verify", async () => {
    const { privateKey } = await pair();
    const req = await signedPost("cavage", privateKey);
    const headers = new Headers(req.headers);
    headers.set(
      "signature",
      headers.get("signature")!.replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"'),
    );
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => null, { body: await bodyOf(r) })).toMatchObject({
      reason: "unsupported_algorithm",
    });
  });

  it("headers_not_covered when a cavage signature leaves out (request-target)", async () => {
    const { privateKey } = await pair();
    const req = await signedPost("cavage", privateKey);
    const headers = new Headers(req.headers);
    headers.set("signature", headers.get("signature")!.replace('headers="(request-target) ', 'headers="'));
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => null, { body: await bodyOf(r) })).toMatchObject({
      reason: "headers_not_covered",
    });
  });

  it("headers_not_covered when a POST's signature leaves out the digest", async () => {
    const { privateKey } = await pair();
    const req = await signedPost("rfc9421", privateKey);
    const headers = new Headers(req.headers);
    headers.set("signature-input", headers.get("signature-input")!.replace(' "content-digest"', ""));
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => null, { body: await bodyOf(r) })).toMatchObject({
      reason: "headers_not_covered",
    });
  });

  it("digest_missing for a POST whose only digest uses an algorithm Perch does not check", async () => {
    const { privateKey } = await pair();
    const req = await signedPost("cavage", privateKey);
    const headers = new Headers(req.headers);
    headers.set("digest", "MD5=Sd/dVLAcvNLSq16eXua5uQ==");
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => null, { body: await bodyOf(r) })).toMatchObject({
      reason: "digest_missing",
    });
  });

  it("headers_not_covered when a header the signature names is absent", async () => {
    const { privateKey } = await pair();
    const req = await signedPost("cavage", privateKey);
    const headers = new Headers(req.headers);
    headers.delete("digest");
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => null, { body: await bodyOf(r) })).toMatchObject({
      reason: "headers_not_covered",
    });
  });

  it("accepts the Authorization: Signature form of draft-cavage", async () => {
    const { privateKey, publicKey } = await pair();
    const req = await signedPost("cavage", privateKey);
    const headers = new Headers(req.headers);
    headers.set("authorization", `Signature ${headers.get("signature")}`);
    headers.delete("signature");
    const r = new Request(req, { headers });
    expect(await verifyRequest(r, async () => publicKey, { body: await bodyOf(r) })).toMatchObject({
      ok: true,
    });
  });

  it("accepts a PKCS#1 RSA PUBLIC KEY PEM", async () => {
    const { publicKeyPem } = await generateRsaKeyPair();
    const spki = Uint8Array.from(atob(publicKeyPem.replace(/-----[^-]+-----|\s/g, "")), (c) =>
      c.charCodeAt(0),
    );
    // An SPKI for RSA is a fixed 24-byte header followed by the PKCS#1 key.
    const pkcs1 = btoa(String.fromCharCode(...spki.slice(24)));
    const key = await importPublicKeyPem(
      `-----BEGIN RSA PUBLIC KEY-----\n${pkcs1}\n-----END RSA PUBLIC KEY-----`,
    );
    expect(key.algorithm.name).toBe("RSASSA-PKCS1-v1_5");
  });
});
