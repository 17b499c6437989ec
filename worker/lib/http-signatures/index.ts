import { cavageHeader, cavageSigningString, CavageParseError, formatCavage, parseCavage } from "./cavage";
import { checkBodyDigest, contentDigestHeader, digestHeader } from "./digest";
import { asBytes, toBase64 } from "./encoding";
import { isEd25519, signBytes, verifyBytes } from "./keys";
import { parseRfc9421, Rfc9421Error, serializeParams, signatureBase } from "./rfc9421";
import { StructuredFieldError } from "./structured-fields";

export { checkBodyDigest, contentDigestHeader, digestHeader } from "./digest";
export { generateRsaKeyPair, importEd25519PublicKey, importPublicKeyPem, importRsaPrivateKey } from "./keys";

export type SignatureScheme = "cavage" | "rfc9421";

export interface SignOptions {
  keyId: string;
  privateKey: CryptoKey;
  scheme: SignatureScheme;
  now?: Date;
}

const encoder = new TextEncoder();

/**
 * Signs an outgoing request: adds Host, Date and a body digest, then the signature headers.
 * draft-cavage covers (request-target) host date digest content-type (POST) or accept (GET);
 * RFC 9421 covers @method @target-uri and, with a body, content-digest.
 */
export async function signRequest(
  request: Request,
  body: ArrayBuffer | Uint8Array | null,
  opts: SignOptions,
): Promise<Request> {
  const now = opts.now ?? new Date();
  const headers = new Headers(request.headers);
  const url = new URL(request.url);
  headers.set("host", url.host);
  headers.set("date", now.toUTCString());
  const hasBody = body !== null && request.method !== "GET" && request.method !== "HEAD";
  const ed = isEd25519(opts.privateKey);
  if (opts.scheme === "cavage") {
    const covered = ["(request-target)", "host", "date"];
    if (hasBody) {
      headers.set("digest", await digestHeader(body));
      covered.push("digest");
      if (headers.has("content-type")) covered.push("content-type");
    } else if (headers.has("accept")) {
      covered.push("accept");
    }
    const draft = new Request(url, { method: request.method, headers });
    const signature = await signBytes(opts.privateKey, encoder.encode(cavageSigningString(draft, covered)));
    headers.set(
      "signature",
      formatCavage(opts.keyId, ed ? "hs2019" : "rsa-sha256", covered, toBase64(signature)),
    );
  } else {
    const covered = ["@method", "@target-uri"];
    if (hasBody) {
      headers.set("content-digest", await contentDigestHeader(body));
      covered.push("content-digest");
    }
    const raw = serializeParams(covered, {
      created: Math.floor(now.getTime() / 1000),
      keyid: opts.keyId,
      alg: ed ? "ed25519" : "rsa-v1_5-sha256",
    });
    const draft = new Request(url, { method: request.method, headers });
    const signature = await signBytes(opts.privateKey, encoder.encode(signatureBase(draft, covered, raw)));
    headers.set("signature-input", `sig1=${raw}`);
    headers.set("signature", `sig1=:${toBase64(signature)}:`);
  }
  return new Request(request.url, {
    method: request.method,
    headers,
    body: hasBody ? asBytes(body) : null,
    redirect: request.redirect,
  });
}

export type VerifyFailure =
  | "missing"
  | "malformed"
  | "unsupported_algorithm"
  | "headers_not_covered"
  | "expired"
  | "future"
  | "digest_missing"
  | "digest_mismatch"
  | "unknown_key"
  | "bad_signature";

export type VerifyResult =
  { ok: true; keyId: string; scheme: SignatureScheme } | { ok: false; reason: VerifyFailure; keyId?: string };

/** Key lookup: called with refresh=false first, and at most once more with refresh=true (key rotation). */
export type KeyLookup = (keyId: string, refresh: boolean) => Promise<CryptoKey | null>;

export interface VerifyOptions {
  now?: Date;
  /** Either side of now; Mastodon allows an hour. */
  windowSeconds?: number;
  body: ArrayBuffer | null;
  /** Whether a body digest must be present; by default when the request has a body. */
  requireDigest?: boolean;
}

interface Prepared {
  scheme: SignatureScheme;
  keyId: string;
  data: Uint8Array;
  signature: Uint8Array;
  /** The algorithm the signature names, if any, to check against the key. */
  alg: "rsa" | "ed25519" | undefined;
}

/** Verifies a draft-cavage or RFC 9421 signature on an incoming request, and its body digest. */
export async function verifyRequest(
  request: Request,
  lookupKey: KeyLookup,
  opts: VerifyOptions,
): Promise<VerifyResult> {
  const now = (opts.now ?? new Date()).getTime() / 1000;
  const window = opts.windowSeconds ?? 3600;
  let prepared: Prepared | VerifyResult;
  try {
    prepared = request.headers.has("signature-input")
      ? prepareRfc9421(request, opts, now, window)
      : prepareCavage(request, opts, now, window);
  } catch (e) {
    if (e instanceof CavageParseError || e instanceof Rfc9421Error || e instanceof StructuredFieldError) {
      return { ok: false, reason: /missing$/.test(e.message) ? "headers_not_covered" : "malformed" };
    }
    throw e;
  }
  if ("ok" in prepared) return prepared;
  const { keyId, scheme } = prepared;

  const hasBody = opts.body !== null && opts.body.byteLength > 0;
  if (opts.requireDigest ?? hasBody) {
    const digest = await checkBodyDigest(request.headers, opts.body ?? new ArrayBuffer(0));
    if (digest === "missing" || digest === "unsupported")
      return { ok: false, reason: "digest_missing", keyId };
    if (digest === "mismatch") return { ok: false, reason: "digest_mismatch", keyId };
  }

  const attempt = async (refresh: boolean): Promise<"ok" | "no_key" | "bad" | "alg"> => {
    const key = await lookupKey(keyId, refresh);
    if (!key) return "no_key";
    const ed = isEd25519(key);
    if (prepared.alg && (prepared.alg === "ed25519") !== ed) return "alg";
    return (await verifyBytes(key, prepared.signature, prepared.data)) ? "ok" : "bad";
  };
  let outcome = await attempt(false);
  if (outcome !== "ok") outcome = await attempt(true);
  if (outcome === "ok") return { ok: true, keyId, scheme };
  if (outcome === "no_key") return { ok: false, reason: "unknown_key", keyId };
  return { ok: false, reason: "bad_signature", keyId };
}

function timeCheck(
  created: number | undefined,
  expires: number | undefined,
  now: number,
  window: number,
): VerifyFailure | null {
  if (created !== undefined) {
    if (created > now + window) return "future";
    if (created < now - window) return "expired";
  }
  if (expires !== undefined && expires < now) return "expired";
  return null;
}

function prepareCavage(
  request: Request,
  opts: VerifyOptions,
  now: number,
  window: number,
): Prepared | VerifyResult {
  const header = cavageHeader(request.headers);
  if (!header) return { ok: false, reason: "missing" };
  const sig = parseCavage(header);
  const alg = sig.algorithm;
  if (alg && !["rsa-sha256", "hs2019", "rsa-v1_5-sha256", "ed25519"].includes(alg)) {
    return { ok: false, reason: "unsupported_algorithm", keyId: sig.keyId };
  }
  const covered = new Set(sig.headers);
  const hasBody = opts.body !== null && opts.body.byteLength > 0;
  if (
    !covered.has("(request-target)") ||
    !covered.has("host") ||
    (!covered.has("date") && !covered.has("(created)")) ||
    (hasBody && !covered.has("digest"))
  ) {
    return { ok: false, reason: "headers_not_covered", keyId: sig.keyId };
  }
  let created = sig.created;
  if (covered.has("date")) {
    const date = Date.parse(request.headers.get("date") ?? "");
    if (Number.isNaN(date)) return { ok: false, reason: "malformed", keyId: sig.keyId };
    created = date / 1000;
  }
  const late = timeCheck(created, sig.expires, now, window);
  if (late) return { ok: false, reason: late, keyId: sig.keyId };
  const data = encoder.encode(cavageSigningString(request, sig.headers, sig));
  return {
    scheme: "cavage",
    keyId: sig.keyId,
    data,
    signature: sig.signature,
    alg:
      alg === "rsa-sha256" || alg === "rsa-v1_5-sha256" ? "rsa" : alg === "ed25519" ? "ed25519" : undefined,
  };
}

function prepareRfc9421(
  request: Request,
  opts: VerifyOptions,
  now: number,
  window: number,
): Prepared | VerifyResult {
  const sig = parseRfc9421(request.headers);
  if (sig.alg && sig.alg !== "rsa-v1_5-sha256" && sig.alg !== "ed25519") {
    return { ok: false, reason: "unsupported_algorithm", keyId: sig.keyId };
  }
  const covered = new Set(sig.components);
  const hasBody = opts.body !== null && opts.body.byteLength > 0;
  const target =
    covered.has("@target-uri") ||
    (covered.has("@authority") && (covered.has("@path") || covered.has("@request-target")));
  if (!covered.has("@method") || !target || (hasBody && !covered.has("content-digest"))) {
    return { ok: false, reason: "headers_not_covered", keyId: sig.keyId };
  }
  if (sig.created === undefined) return { ok: false, reason: "headers_not_covered", keyId: sig.keyId };
  const late = timeCheck(sig.created, sig.expires, now, window);
  if (late) return { ok: false, reason: late, keyId: sig.keyId };
  return {
    scheme: "rfc9421",
    keyId: sig.keyId,
    data: encoder.encode(signatureBase(request, sig.components, sig.rawParams)),
    signature: sig.signature,
    alg: sig.alg === "ed25519" ? "ed25519" : sig.alg ? "rsa" : undefined,
  };
}
