/**
 * draft-cavage-http-signatures-12, as Mastodon and most of the fediverse use it.
 * https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12
 */
export interface CavageSignature {
  keyId: string;
  algorithm: string | undefined;
  headers: string[];
  signature: Uint8Array;
  created?: number;
  expires?: number;
}

export class CavageParseError extends Error {}

/** Reads the `Signature` header, or `Authorization: Signature …`. */
export function cavageHeader(headers: Headers): string | null {
  const sig = headers.get("signature");
  if (sig) return sig;
  const auth = headers.get("authorization");
  return auth && /^Signature\s+/i.test(auth) ? auth.replace(/^Signature\s+/i, "") : null;
}

export function parseCavage(header: string): CavageSignature {
  const params = new Map<string, string>();
  const re = /\s*([a-zA-Z]+)\s*=\s*(?:"([^"]*)"|(\d+))\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < header.length && (m = re.exec(header))) {
    params.set((m[1] as string).toLowerCase(), m[2] ?? (m[3] as string));
  }
  if (re.lastIndex < header.length && header.slice(re.lastIndex).trim())
    throw new CavageParseError("unparsable parameters");
  const keyId = params.get("keyid");
  const signature = params.get("signature");
  if (!keyId || !signature) throw new CavageParseError("keyId and signature are required");
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
  } catch {
    throw new CavageParseError("signature is not base64");
  }
  const created = params.get("created");
  const expires = params.get("expires");
  return {
    keyId,
    algorithm: params.get("algorithm")?.toLowerCase(),
    headers: (params.get("headers") ?? "date").toLowerCase().split(/\s+/).filter(Boolean),
    signature: bytes,
    ...(created ? { created: Number(created) } : {}),
    ...(expires ? { expires: Number(expires) } : {}),
  };
}

/** The signing string for `headers`; throws if a named header is missing from the request. */
export function cavageSigningString(
  request: Request,
  headers: string[],
  extra: { created?: number; expires?: number } = {},
): string {
  const url = new URL(request.url);
  return headers
    .map((h) => {
      switch (h) {
        case "(request-target)":
          return `(request-target): ${request.method.toLowerCase()} ${url.pathname}${url.search}`;
        case "(created)":
          if (extra.created === undefined) throw new CavageParseError("(created) without created");
          return `(created): ${extra.created}`;
        case "(expires)":
          if (extra.expires === undefined) throw new CavageParseError("(expires) without expires");
          return `(expires): ${extra.expires}`;
        case "host":
          return `host: ${request.headers.get("host") ?? url.host}`;
        default: {
          const v = request.headers.get(h);
          if (v === null) throw new CavageParseError(`signed header ${h} is missing`);
          return `${h}: ${v}`;
        }
      }
    })
    .join("\n");
}

export function formatCavage(keyId: string, algorithm: string, headers: string[], signature: string): string {
  return `keyId="${keyId}",algorithm="${algorithm}",headers="${headers.join(" ")}",signature="${signature}"`;
}
