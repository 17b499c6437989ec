import { signAsync } from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../worker/lib/jcs";
import {
  decodeEd25519PrivateKey,
  decodeEd25519PublicKey,
  decodeMultibase,
  encodeMultibase,
  generateEd25519KeyPair,
} from "../../worker/lib/multikey";
import { createProof, verifyProof } from "../../worker/lib/proofs";
import vector from "../fixtures/vectors/fep-8b32.json";

const KEY_ID = vector.proof_options.verificationMethod;
const CREATED = new Date(vector.proof_options.created);
const publicKey = decodeEd25519PublicKey(vector.public_key_multibase);
const resolve = async (method: string) => (method === KEY_ID ? publicKey : null);

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function omit(object: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
}

async function signedVector(): Promise<Record<string, unknown>> {
  return createProof(clone(vector.document), {
    privateKeyMultibase: vector.secret_key_multibase,
    verificationMethod: KEY_ID,
    created: CREATED,
  });
}

function proofOf(doc: Record<string, unknown>): Record<string, unknown> {
  return doc.proof as Record<string, unknown>;
}

describe("createProof (FEP-8b32, eddsa-jcs-2022)", () => {
  it("reproduces the FEP-8b32 test vector exactly", async () => {
    const signed = await signedVector();
    expect(proofOf(signed)).toEqual({ ...vector.proof_options, proofValue: vector.expected_proof_value });
    expect(omit(signed, "proof")).toEqual(vector.document);
  });

  it("is the signature over SHA-256(JCS(proof config)) || SHA-256(JCS(document))", async () => {
    const digest = async (v: unknown) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalize(v))));
    const data = new Uint8Array([
      ...(await digest(vector.proof_options)),
      ...(await digest(vector.document)),
    ]);
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    const signature = decodeMultibase(vector.expected_proof_value);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data)).toBe(true);
  });

  it("does not modify its input, and replaces an existing proof and LD signature", async () => {
    const input = {
      ...clone(vector.document),
      proof: { junk: true },
      signature: { type: "RsaSignature2017" },
    };
    const before = clone(input);
    const signed = await createProof(input, {
      privateKeyMultibase: vector.secret_key_multibase,
      verificationMethod: KEY_ID,
      created: CREATED,
    });
    expect(input).toEqual(before);
    expect(signed.signature).toBeUndefined();
    expect(proofOf(signed).proofValue).toBe(vector.expected_proof_value);
  });

  it("writes created at second precision and defaults it to now", async () => {
    const { privateKeyMultibase } = await generateEd25519KeyPair();
    const at = await createProof(
      { type: "Note" },
      { privateKeyMultibase, verificationMethod: KEY_ID, created: new Date("2024-05-06T07:08:09.987Z") },
    );
    expect(proofOf(at).created).toBe("2024-05-06T07:08:09Z");
    const before = Date.now() - 1000;
    const now = await createProof({ type: "Note" }, { privateKeyMultibase, verificationMethod: KEY_ID });
    const created = Date.parse(proofOf(now).created as string);
    expect(created).toBeGreaterThanOrEqual(before);
    expect(created).toBeLessThanOrEqual(Date.now());
  });

  it("omits @context from the proof when the document has none", async () => {
    const pair = await generateEd25519KeyPair();
    const signed = await createProof(
      { id: "https://a.example/1", type: "Note" },
      { privateKeyMultibase: pair.privateKeyMultibase, verificationMethod: "https://a.example/u#k" },
    );
    expect(proofOf(signed)).not.toHaveProperty("@context");
    const key = decodeEd25519PublicKey(pair.publicKeyMultibase);
    expect(await verifyProof(signed, async () => key)).toEqual({
      ok: true,
      verificationMethod: "https://a.example/u#k",
    });
  });

  it("rejects a private key that is not an Ed25519 multikey", async () => {
    await expect(
      createProof({}, { privateKeyMultibase: vector.public_key_multibase, verificationMethod: KEY_ID }),
    ).rejects.toThrow();
  });
});

describe("verifyProof", () => {
  it("accepts the FEP-8b32 vector", async () => {
    const signed = {
      ...clone(vector.document),
      proof: { ...vector.proof_options, proofValue: vector.expected_proof_value },
    };
    expect(await verifyProof(signed, resolve)).toEqual({ ok: true, verificationMethod: KEY_ID });
  });

  it("round-trips with fresh keys and passes the verificationMethod to the resolver", async () => {
    const pair = await generateEd25519KeyPair();
    const doc = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: "https://b.example/notes/1",
      type: "Note",
      content: "<p>héllo 👋</p>",
      tag: [{ type: "Hashtag", name: "#x" }],
      n: 1.5,
    };
    const signed = await createProof(doc, {
      privateKeyMultibase: pair.privateKeyMultibase,
      verificationMethod: "https://b.example/users/bob#ed25519",
    });
    const asked: string[] = [];
    const result = await verifyProof(
      JSON.parse(JSON.stringify(signed)) as Record<string, unknown>,
      async (m) => {
        asked.push(m);
        return decodeEd25519PublicKey(pair.publicKeyMultibase);
      },
    );
    expect(result).toEqual({ ok: true, verificationMethod: "https://b.example/users/bob#ed25519" });
    expect(asked).toEqual(["https://b.example/users/bob#ed25519"]);
  });

  it("does not depend on member order", async () => {
    const signed = await signedVector();
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect((await verifyProof(reordered, resolve)).ok).toBe(true);
  });

  it("fails for a tampered document", async () => {
    const signed = await signedVector();
    const object = { ...(signed.object as Record<string, unknown>), content: "Goodbye world" };
    expect(await verifyProof({ ...signed, object }, resolve)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyProof({ ...signed, cc: ["https://evil.example/"] }, resolve)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect((await verifyProof(omit(signed, "actor"), resolve)).ok).toBe(false);
  });

  it("fails for a tampered proof", async () => {
    const signed = await signedVector();
    const tamper = (patch: Record<string, unknown>) => ({
      ...signed,
      proof: { ...proofOf(signed), ...patch },
    });
    expect(await verifyProof(tamper({ created: "2023-02-24T23:36:39Z" }), resolve)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await verifyProof(tamper({ nonce: "x" }), resolve)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    const signature = decodeMultibase(proofOf(signed).proofValue as string);
    signature[10] = (signature[10] as number) ^ 1;
    expect(await verifyProof(tamper({ proofValue: encodeMultibase(signature) }), resolve)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("fails with the wrong key", async () => {
    const signed = await signedVector();
    const other = decodeEd25519PublicKey((await generateEd25519KeyPair()).publicKeyMultibase);
    expect(await verifyProof(signed, async () => other)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("reports an unknown key", async () => {
    const signed = await signedVector();
    expect(await verifyProof(signed, async () => null)).toEqual({ ok: false, reason: "unknown_key" });
    expect(await verifyProof(signed, async () => new Uint8Array(31))).toEqual({
      ok: false,
      reason: "unknown_key",
    });
  });

  it("lets resolver errors propagate", async () => {
    const signed = await signedVector();
    await expect(
      verifyProof(signed, async () => {
        throw new Error("D1 down");
      }),
    ).rejects.toThrow("D1 down");
  });

  it("reports a missing proof", async () => {
    expect(await verifyProof(clone(vector.document), resolve)).toEqual({ ok: false, reason: "missing" });
    expect(await verifyProof({ ...clone(vector.document), proof: null }, resolve)).toEqual({
      ok: false,
      reason: "missing",
    });
    expect(await verifyProof({ ...clone(vector.document), proof: [] }, resolve)).toEqual({
      ok: false,
      reason: "missing",
    });
  });

  it("reports an unsupported cryptosuite", async () => {
    const signed = await signedVector();
    for (const cryptosuite of ["eddsa-rdfc-2022", "ecdsa-jcs-2019", "bbs-2023"]) {
      const doc = { ...signed, proof: { ...proofOf(signed), cryptosuite } };
      expect(await verifyProof(doc, resolve)).toEqual({ ok: false, reason: "unsupported_cryptosuite" });
    }
  });

  it("reports malformed proofs", async () => {
    const signed = await signedVector();
    const proof = proofOf(signed);
    const malformed: unknown[] = [
      "a string",
      42,
      { ...proof, type: "Ed25519Signature2020" },
      { ...proof, cryptosuite: 1 },
      omit(proof, "proofValue"),
      omit(proof, "verificationMethod"),
      { ...proof, verificationMethod: { id: KEY_ID } },
      { ...proof, proofPurpose: "authentication" },
      { ...proof, proofValue: vector.expected_proof_value.slice(1) }, // no multibase prefix
      { ...proof, proofValue: `u${vector.expected_proof_value.slice(1)}` }, // base64url prefix
      { ...proof, proofValue: "z0OIl" }, // not base58
      { ...proof, proofValue: vector.expected_proof_value.slice(0, -3) }, // short signature
      { ...proof, proofValue: `${vector.expected_proof_value}2` }, // long signature
      { ...proof, proofValue: 7 },
      { ...proof, created: "yesterday" },
      { ...proof, expires: "soon" },
    ];
    for (const bad of malformed) {
      expect(await verifyProof({ ...signed, proof: bad }, resolve), JSON.stringify(bad)).toEqual({
        ok: false,
        reason: "malformed",
      });
    }
  });

  it("rejects an expired proof and accepts one not yet expired", async () => {
    // createProof does not write `expires`, so sign such a proof by hand, as the spec describes it.
    const secret = decodeEd25519PrivateKey(vector.secret_key_multibase);
    const digest = async (v: unknown) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalize(v))));
    const withExpiry = async (expires: string) => {
      const options = { ...vector.proof_options, expires };
      const data = new Uint8Array([...(await digest(options)), ...(await digest(vector.document))]);
      const proofValue = encodeMultibase(await signAsync(data, secret));
      return { ...clone(vector.document), proof: { ...options, proofValue } };
    };
    const now = new Date("2030-01-01T00:00:00Z");
    expect(await verifyProof(await withExpiry("2029-12-31T23:59:59Z"), resolve, now)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await verifyProof(await withExpiry("2030-01-01T00:00:01Z"), resolve, now)).toEqual({
      ok: true,
      verificationMethod: KEY_ID,
    });
  });

  it("ignores a legacy LD signature next to the proof (FEP-8b32 backward compatibility)", async () => {
    const signed = await signedVector();
    const withLd = { ...signed, signature: { type: "RsaSignature2017", signatureValue: "abc" } };
    expect(await verifyProof(withLd, resolve)).toEqual({ ok: true, verificationMethod: KEY_ID });
  });

  it("checks the proof's @context against the document's (vc-di-eddsa §3.3.2)", async () => {
    const signed = await signedVector();
    const context = vector.document["@context"];
    // Contexts appended after signing are tolerated: the proof's @context is what was signed.
    const extended = { ...signed, "@context": [...context, { toot: "http://joinmastodon.org/ns#" }] };
    expect((await verifyProof(extended, resolve)).ok).toBe(true);
    // A document whose @context does not start with the proof's fails.
    for (const other of [undefined, "https://www.w3.org/ns/activitystreams", [...context].reverse()]) {
      const doc = { ...signed, "@context": other };
      expect(await verifyProof(doc, resolve)).toEqual({ ok: false, reason: "bad_signature" });
    }
  });

  it("hashes the document's @context into the config when the proof omits it", async () => {
    const signed = await signedVector();
    expect(await verifyProof({ ...signed, proof: omit(proofOf(signed), "@context") }, resolve)).toEqual({
      ok: true,
      verificationMethod: KEY_ID,
    });
  });

  it("accepts a proof set when one eddsa-jcs-2022 proof verifies", async () => {
    const signed = await signedVector();
    const other = { ...proofOf(signed), cryptosuite: "eddsa-rdfc-2022" };
    expect(await verifyProof({ ...signed, proof: [other, proofOf(signed)] }, resolve)).toEqual({
      ok: true,
      verificationMethod: KEY_ID,
    });
    expect(await verifyProof({ ...signed, proof: [other] }, resolve)).toEqual({
      ok: false,
      reason: "unsupported_cryptosuite",
    });
    const broken = { ...proofOf(signed), created: "2000-01-01T00:00:00Z" };
    expect(await verifyProof({ ...signed, proof: [other, broken] }, resolve)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("rejects documents that are not I-JSON instead of throwing", async () => {
    const signed = await signedVector();
    expect(await verifyProof({ ...signed, content: "\ud800" }, resolve)).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});
