import { signAsync, verifyAsync } from "@noble/ed25519";
import { canonicalize } from "./jcs";
import { decodeEd25519PrivateKey, decodeMultibase, encodeMultibase } from "./multikey";

/**
 * FEP-8b32 object integrity proofs: W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite
 * (vc-di-eddsa §3.3). The signed bytes are SHA-256(JCS(proof config)) || SHA-256(JCS(document)), where
 * the proof config is the proof without `proofValue`, carrying the document's `@context`, and the
 * document is the object without `proof` (and without a legacy LD `signature`, which FEP-8b32 says to
 * remove before verifying). proofValue = "z" + base58btc(Ed25519 signature).
 * https://codeberg.org/fediverse/fep/src/branch/main/fep/8b32/fep-8b32.md
 * https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022
 */

const PROOF_TYPE = "DataIntegrityProof";
const CRYPTOSUITE = "eddsa-jcs-2022";
const PROOF_PURPOSE = "assertionMethod";

/** `expired`: the proof carries an `expires` in the past (FEP-8b32: ignore such a proof). */
export type ProofFailure =
  "missing" | "malformed" | "unsupported_cryptosuite" | "unknown_key" | "bad_signature" | "expired";

export type ProofResult = { ok: true; verificationMethod: string } | { ok: false; reason: ProofFailure };

/** xsd:dateTime, as Data Integrity requires for `created` and `expires`. */
const DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The document a proof covers: everything but `proof` and a legacy Linked Data `signature`. */
function withoutProof(document: JsonObject): JsonObject {
  const rest = { ...document };
  delete rest.proof;
  delete rest.signature;
  return rest;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** vc-di-eddsa §3.3.4 Hashing: hash(proof config) followed by hash(transformed document), 64 bytes. */
async function hashData(unsecured: JsonObject, proofConfig: JsonObject): Promise<Uint8Array> {
  const [config, document] = await Promise.all([
    sha256(canonicalize(proofConfig)),
    sha256(canonicalize(unsecured)),
  ]);
  const out = new Uint8Array(config.length + document.length);
  out.set(config);
  out.set(document, config.length);
  return out;
}

/** Seconds precision, UTC, as in the FEP's examples ("2023-02-24T23:36:38Z"). */
function formatDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Adds an eddsa-jcs-2022 proof (proofPurpose assertionMethod) to a copy of `document`. The proof
 * carries the document's `@context` when it has one, as the spec's Add Proof algorithm does. A
 * `proof` or legacy `signature` already on the document is replaced/dropped: neither can be signed
 * over, and an LD signature would no longer match (FEP-8b32 §Backward compatibility).
 */
export async function createProof(
  document: Record<string, unknown>,
  opts: { privateKeyMultibase: string; verificationMethod: string; created?: Date },
): Promise<Record<string, unknown>> {
  const unsecured = withoutProof(document);
  const proofConfig: JsonObject = {
    ...(unsecured["@context"] !== undefined ? { "@context": unsecured["@context"] } : {}),
    type: PROOF_TYPE,
    cryptosuite: CRYPTOSUITE,
    verificationMethod: opts.verificationMethod,
    proofPurpose: PROOF_PURPOSE,
    created: formatDateTime(opts.created ?? new Date()),
  };
  const secret = decodeEd25519PrivateKey(opts.privateKeyMultibase);
  const signature = await signAsync(await hashData(unsecured, proofConfig), secret);
  return { ...unsecured, proof: { ...proofConfig, proofValue: encodeMultibase(signature) } };
}

/**
 * Verifies the object's integrity proof. `resolveKey` maps the proof's verificationMethod to a raw
 * Ed25519 public key, or null when it is unknown or does not belong to the object's owner (that check
 * is the caller's: FEP-8b32 requires the key's controller to be the owner of the object). Errors
 * thrown by `resolveKey` propagate. With several proofs (a proof set), the first eddsa-jcs-2022 proof
 * that verifies wins.
 */
export async function verifyProof(
  document: Record<string, unknown>,
  resolveKey: (verificationMethod: string) => Promise<Uint8Array | null>,
  now: Date = new Date(),
): Promise<ProofResult> {
  const proof = document.proof;
  if (proof === undefined || proof === null) return { ok: false, reason: "missing" };
  const proofs = Array.isArray(proof) ? proof : [proof];
  if (proofs.length === 0) return { ok: false, reason: "missing" };
  let failure: ProofResult = { ok: false, reason: "malformed" };
  for (const candidate of proofs) {
    const result = await verifyOne(document, candidate, resolveKey, now);
    if (result.ok) return result;
    // Report the most informative failure: anything beats "unsupported" when several proofs exist.
    if (failure.reason === "malformed" || result.reason !== "unsupported_cryptosuite") failure = result;
  }
  return failure;
}

async function verifyOne(
  securedDocument: JsonObject,
  proof: unknown,
  resolveKey: (verificationMethod: string) => Promise<Uint8Array | null>,
  now: Date,
): Promise<ProofResult> {
  if (!isObject(proof)) return { ok: false, reason: "malformed" };
  const { proofValue, ...proofOptions } = proof;
  const { type, cryptosuite, verificationMethod, proofPurpose, created, expires } = proofOptions;
  if (type !== PROOF_TYPE || typeof cryptosuite !== "string") return { ok: false, reason: "malformed" };
  if (cryptosuite !== CRYPTOSUITE) return { ok: false, reason: "unsupported_cryptosuite" };
  if (typeof verificationMethod !== "string" || !verificationMethod || proofPurpose !== PROOF_PURPOSE) {
    return { ok: false, reason: "malformed" };
  }
  if (created !== undefined && (typeof created !== "string" || !DATE_TIME.test(created))) {
    return { ok: false, reason: "malformed" };
  }
  if (expires !== undefined) {
    if (typeof expires !== "string" || !DATE_TIME.test(expires)) return { ok: false, reason: "malformed" };
    if (Date.parse(expires) <= now.getTime()) return { ok: false, reason: "expired" };
  }
  let signature: Uint8Array;
  try {
    if (typeof proofValue !== "string") throw new Error("no proofValue");
    signature = decodeMultibase(proofValue);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (signature.length !== 64) return { ok: false, reason: "malformed" };

  // vc-di-eddsa §3.3.2 step 4: the proof's @context, when present, must be a prefix of the document's,
  // and is what gets hashed in its place (so contexts appended after signing are tolerated).
  const unsecured = withoutProof(securedDocument);
  if (proofOptions["@context"] !== undefined) {
    if (!contextStartsWith(securedDocument["@context"], proofOptions["@context"])) {
      return { ok: false, reason: "bad_signature" };
    }
    unsecured["@context"] = proofOptions["@context"];
  }
  // §3.3.5 Proof Configuration: the config carries the (unsecured) document's @context.
  const proofConfig: JsonObject = { ...proofOptions };
  if (unsecured["@context"] !== undefined) proofConfig["@context"] = unsecured["@context"];

  let hash: Uint8Array;
  try {
    hash = await hashData(unsecured, proofConfig);
  } catch {
    return { ok: false, reason: "malformed" }; // not I-JSON (lone surrogates)
  }
  const publicKey = await resolveKey(verificationMethod);
  if (!publicKey || publicKey.length !== 32) return { ok: false, reason: "unknown_key" };
  return (await verifyEd25519(signature, hash, publicKey))
    ? { ok: true, verificationMethod }
    : { ok: false, reason: "bad_signature" };
}

function contextStartsWith(documentContext: unknown, proofContext: unknown): boolean {
  if (documentContext === undefined) return false;
  const doc = Array.isArray(documentContext) ? documentContext : [documentContext];
  const prefix = Array.isArray(proofContext) ? proofContext : [proofContext];
  if (prefix.length > doc.length) return false;
  try {
    return prefix.every((value: unknown, i) => canonicalize(value) === canonicalize(doc[i]));
  } catch {
    return false;
  }
}

/** WebCrypto's native Ed25519 where the runtime has it (workerd does), @noble/ed25519 otherwise. */
async function verifyEd25519(
  signature: Uint8Array,
  data: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return verifyAsync(signature, data, publicKey, { zip215: false }).catch(() => false);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, data).catch(() => false);
}
