import { parseDictionary } from "./structured-fields";
import { asBytes, toBase64 } from "./encoding";

/** Body digests: `Digest` (RFC 3230, draft-cavage) and `Content-Digest` (RFC 9530, RFC 9421). */
async function hash(alg: "SHA-256" | "SHA-512", body: ArrayBuffer | Uint8Array): Promise<string> {
  return toBase64(await crypto.subtle.digest(alg, asBytes(body)));
}

export async function digestHeader(body: ArrayBuffer | Uint8Array): Promise<string> {
  return `SHA-256=${await hash("SHA-256", body)}`;
}

export async function contentDigestHeader(body: ArrayBuffer | Uint8Array): Promise<string> {
  return `sha-256=:${await hash("SHA-256", body)}:`;
}

const ALGS = { "sha-256": "SHA-256", "sha-512": "SHA-512" } as const;

/** Checks Digest or Content-Digest against the raw body: every supported digest given must match. */
export async function checkBodyDigest(
  headers: Headers,
  body: ArrayBuffer,
): Promise<"ok" | "missing" | "mismatch" | "unsupported"> {
  const digests: [keyof typeof ALGS | string, string][] = [];
  const contentDigest = headers.get("content-digest");
  if (contentDigest) {
    try {
      for (const [alg, member] of parseDictionary(contentDigest)) {
        const v = "items" in member.value ? undefined : member.value.value;
        if (v instanceof Uint8Array) digests.push([alg, toBase64(v)]);
        else return "mismatch";
      }
    } catch {
      return "mismatch";
    }
  }
  const digest = headers.get("digest");
  if (digest) {
    for (const part of digest.split(",")) {
      const i = part.indexOf("=");
      if (i < 0) return "mismatch";
      digests.push([part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim()]);
    }
  }
  if (digests.length === 0) return "missing";
  let checked = 0;
  for (const [alg, value] of digests) {
    const webAlg = ALGS[alg as keyof typeof ALGS];
    if (!webAlg) continue;
    checked++;
    if ((await hash(webAlg, body)) !== value) return "mismatch";
  }
  return checked ? "ok" : "unsupported";
}
