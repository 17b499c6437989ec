// The self-contained browser build, as Fedify uses: jsonld's package entry brings its Node document
// loader (undici), which does not load in workerd, and no loader is wanted anyway.
import jsonld, { type Quad, type RemoteDocument } from "jsonld/dist/jsonld.esm.js";
import { canonize } from "rdf-canonize";
import { importPublicKeyPem } from "./http-signatures";
import { fromBase64, toBase64 } from "./http-signatures/encoding";
import { bundledContext, isBundledContext } from "./ld-contexts";

/**
 * Linked Data Signatures, RsaSignature2017, as Mastodon makes and checks them on public activities
 * (so that relays can forward them). The signed string is
 *   sha256hex(canonical(options)) + sha256hex(canonical(document))
 * where options are the signature's fields but type, id and signatureValue, under the identity/v1
 * context, the document is the object without `signature`, and canonical() is the RDFC-1.0
 * (URDNA2015) N-Quads of the JSON-LD. RSASSA-PKCS1-v1_5 with SHA-256; signatureValue in base64.
 * Contexts come only from the bundled set (./ld-contexts): nothing is fetched.
 * https://w3c-ccg.github.io/ld-signatures/ (RsaSignature2017, as it stood in 2017)
 * https://docs.joinmastodon.org/spec/security/#ld
 */

const SIGNATURE_TYPE = "RsaSignature2017";
const OPTIONS_CONTEXT = "https://w3id.org/identity/v1";
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/**
 * `unknown_context`: the document names a context that is not bundled, so it cannot be processed.
 * `unsigned_content`: part of the document does not map to RDF (a term its context does not define,
 * a relative IRI...), so the signature, which covers only the RDF, says nothing about that part;
 * such a document is treated as unsigned rather than trusted with content nobody signed.
 */
export type LdSignatureFailure =
  | "missing"
  | "malformed"
  | "unsupported_type"
  | "unknown_context"
  | "unsigned_content"
  | "unknown_key"
  | "bad_signature";

export type LdSignatureResult =
  { ok: true; keyId: string; ownerUri: string } | { ok: false; reason: LdSignatureFailure; keyId?: string };

/**
 * The RSA public key published under a keyId (SPKI or PKCS#1 PEM, or already imported), and the
 * actor that owns it.
 */
export type LdKeyLookup = (
  keyId: string,
) => Promise<{ ownerUri: string; publicKeyPem: string } | { ownerUri: string; publicKey: CryptoKey } | null>;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class UnknownContextError extends Error {}
class UnsignedContentError extends Error {}

/** Answers only from the bundled contexts; anything else is refused, never fetched. */
async function documentLoader(url: string): Promise<RemoteDocument> {
  const document = bundledContext(url);
  if (!document) throw new UnknownContextError(url);
  return { contextUrl: null, documentUrl: url, document };
}

/**
 * Every context URL the document names, at any depth (scoped contexts in term definitions and
 * `@import` included), is bundled. Checked before any work so an unprocessable document costs
 * neither a key lookup nor canonicalization; the document loader refuses the rest anyway.
 */
function contextsAreBundled(doc: unknown): boolean {
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      stack.push(...value);
    } else if (isObject(value)) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === "@context" || key === "@import") {
          for (const ref of Array.isArray(inner) ? inner : [inner]) {
            if (typeof ref === "string" && !isBundledContext(ref)) return false;
          }
        }
        if (typeof inner === "object" && inner !== null) stack.push(inner);
      }
    }
  }
  return true;
}

/**
 * The quads' graph names are dropped, folding named graphs (a Data Integrity `proof` is one) into
 * the default graph: Mastodon reads the quads into an RDF::Graph, which does exactly that before
 * canonicalizing, so this is what its signatures cover. Folding can repeat a triple; a graph is a set.
 */
function foldGraphs(dataset: Quad[]): Quad[] {
  const seen = new Set<string>();
  const out: Quad[] = [];
  for (const quad of dataset) {
    const { subject: s, predicate: p, object: o } = quad;
    const key = JSON.stringify([
      s.termType,
      s.value,
      p.value,
      o.termType,
      o.value,
      o.datatype?.value,
      o.language,
    ]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...quad, graph: { termType: "DefaultGraph", value: "" } });
  }
  return out;
}

/** The canonical N-Quads. `strict`: throw UnsignedContentError rather than drop what has no RDF meaning. */
async function canonical(input: JsonObject, strict: boolean): Promise<string> {
  let dataset: Quad[];
  try {
    dataset = await jsonld.toRDF(input, { documentLoader, safe: strict });
  } catch (e) {
    const error = e as { name?: unknown; details?: { cause?: unknown } };
    if (error.details?.cause instanceof UnknownContextError) throw error.details.cause;
    if (error.name === "jsonld.ValidationError") throw new UnsignedContentError(String(e));
    throw e;
  }
  // maxWorkFactor 1 (the default, made explicit): a "poison" graph of look-alike blank nodes fails fast.
  return canonize(foldGraphs(dataset), { algorithm: "RDFC-1.0", maxWorkFactor: 1 });
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes an RsaSignature2017 signs: both hashes in hex, concatenated. */
async function toBeSigned(options: JsonObject, document: JsonObject, strict: boolean): Promise<Uint8Array> {
  const [optionsHash, documentHash] = await Promise.all([
    canonical(options, false).then(sha256Hex),
    canonical(document, strict).then(sha256Hex),
  ]);
  return new TextEncoder().encode(optionsHash + documentHash);
}

/** Signature options as Mastodon hashes them: every field but type, id and signatureValue. */
function signatureOptions(signature: JsonObject): JsonObject {
  const { type: _type, id: _id, signatureValue: _value, ...rest } = signature;
  return { ...rest, "@context": OPTIONS_CONTEXT };
}

function withoutSignature(doc: JsonObject): JsonObject {
  const { signature: _signature, ...document } = doc;
  return document;
}

/**
 * Verifies the RsaSignature2017 on a document. The key is looked up only once the document has
 * been canonicalized, so a document that cannot be verified costs no fetch. Never throws.
 * `ownerUri` is the key's owner as the lookup reports it: the caller checks it against the actor.
 * The `created` time is not checked, as Mastodon does not: replays are the inbox's deduplication's job.
 */
export async function verifyLdSignature(doc: unknown, lookupKey: LdKeyLookup): Promise<LdSignatureResult> {
  if (!isObject(doc) || doc.signature === undefined) return { ok: false, reason: "missing" };
  const signature = doc.signature;
  if (!isObject(signature)) return { ok: false, reason: "malformed" };
  if (signature.type !== SIGNATURE_TYPE) return { ok: false, reason: "unsupported_type" };
  const keyId = signature.creator;
  if (typeof keyId !== "string" || !/^https?:\/\//i.test(keyId)) return { ok: false, reason: "malformed" };
  let signatureBytes: Uint8Array;
  try {
    if (typeof signature.signatureValue !== "string") throw new Error("no signatureValue");
    // Mastodon decodes leniently (Base64.decode64): line breaks in the value are tolerated.
    signatureBytes = fromBase64(signature.signatureValue.replace(/\s+/g, ""));
  } catch {
    return { ok: false, reason: "malformed", keyId };
  }
  if (!contextsAreBundled(doc)) return { ok: false, reason: "unknown_context", keyId };

  let data: Uint8Array;
  try {
    data = await toBeSigned(signatureOptions(signature), withoutSignature(doc), true);
  } catch (e) {
    if (e instanceof UnknownContextError) return { ok: false, reason: "unknown_context", keyId };
    if (e instanceof UnsignedContentError) return { ok: false, reason: "unsigned_content", keyId };
    return { ok: false, reason: "malformed", keyId };
  }

  let key: CryptoKey;
  let ownerUri: string;
  try {
    const found = await lookupKey(keyId);
    if (!found) return { ok: false, reason: "unknown_key", keyId };
    key = "publicKey" in found ? found.publicKey : await importPublicKeyPem(found.publicKeyPem);
    ownerUri = found.ownerUri;
  } catch {
    return { ok: false, reason: "unknown_key", keyId };
  }
  if (key.algorithm.name !== RSA.name) return { ok: false, reason: "unknown_key", keyId };
  let valid = false;
  try {
    valid = await crypto.subtle.verify(RSA, key, signatureBytes, data);
  } catch {
    valid = false;
  }
  return valid ? { ok: true, keyId, ownerUri } : { ok: false, reason: "bad_signature", keyId };
}

/** Seconds precision, UTC, as Mastodon writes `created` (Time#iso8601). */
function formatDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A copy of `doc` with an RsaSignature2017 `signature` by `keyId` (replacing any it had). Signed as
 * Mastodon signs: what does not map to RDF is left out of the signature rather than refused, so a
 * term missing from Perch's context costs that term its protection, not the delivery. Throws if the
 * document names a context that is not bundled (a bug in Perch's renderers, not remote input).
 */
export async function signLdSignature(
  doc: Record<string, unknown>,
  opts: { keyId: string; privateKey: CryptoKey; created?: Date },
): Promise<Record<string, unknown>> {
  const document = withoutSignature(doc);
  const options = { creator: opts.keyId, created: formatDateTime(opts.created ?? new Date()) };
  const data = await toBeSigned(signatureOptions(options), document, false);
  const signatureValue = toBase64(await crypto.subtle.sign(RSA, opts.privateKey, data));
  return { ...document, signature: { type: SIGNATURE_TYPE, ...options, signatureValue } };
}
