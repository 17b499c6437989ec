import { isInnerList, parseDictionary, type BareItem, type InnerList } from "./structured-fields";

/**
 * HTTP Message Signatures (RFC 9421): the signature base for a request and the parsed
 * Signature-Input / Signature pair. https://www.rfc-editor.org/rfc/rfc9421
 */
export interface Rfc9421Signature {
  label: string;
  components: string[];
  params: Map<string, BareItem>;
  /** The Signature-Input member exactly as sent: the base ends with it. */
  rawParams: string;
  signature: Uint8Array;
  keyId: string;
  alg: string | undefined;
  created: number | undefined;
  expires: number | undefined;
}

export class Rfc9421Error extends Error {}

export function parseRfc9421(headers: Headers): Rfc9421Signature {
  const input = headers.get("signature-input");
  const sigs = headers.get("signature");
  if (!input || !sigs) throw new Rfc9421Error("Signature-Input and Signature are both required");
  const inputs = parseDictionary(input);
  const signatures = parseDictionary(sigs);
  for (const [label, member] of inputs) {
    if (!isInnerList(member.value)) continue;
    const sig = signatures.get(label);
    if (!sig || isInnerList(sig.value) || !(sig.value.value instanceof Uint8Array)) continue;
    const list: InnerList = member.value;
    const components = list.items.map((item) => {
      if (typeof item.value !== "string") throw new Rfc9421Error("component names are strings");
      if (item.params.size > 0) throw new Rfc9421Error("component parameters are not supported");
      return item.value;
    });
    const keyId = list.params.get("keyid");
    if (typeof keyId !== "string") throw new Rfc9421Error("keyid is required");
    const num = (k: string) => {
      const v = list.params.get(k);
      return typeof v === "number" ? v : undefined;
    };
    const alg = list.params.get("alg");
    return {
      label,
      components,
      params: list.params,
      rawParams: member.raw,
      signature: sig.value.value,
      keyId,
      alg: typeof alg === "string" ? alg : undefined,
      created: num("created"),
      expires: num("expires"),
    };
  }
  throw new Rfc9421Error("no usable signature");
}

function componentValue(request: Request, name: string): string {
  const url = new URL(request.url);
  switch (name) {
    case "@method":
      return request.method.toUpperCase();
    case "@target-uri":
      return url.href;
    case "@authority":
      return (request.headers.get("host") ?? url.host).toLowerCase();
    case "@scheme":
      return url.protocol.slice(0, -1);
    case "@path":
      return url.pathname;
    case "@query":
      return url.search || "?";
    case "@request-target":
      return `${url.pathname}${url.search}`;
    default: {
      if (name.startsWith("@")) throw new Rfc9421Error(`unsupported component ${name}`);
      const v = request.headers.get(name);
      if (v === null) throw new Rfc9421Error(`covered header ${name} is missing`);
      return v.trim();
    }
  }
}

/** The signature base (RFC 9421 §2.5): one line per component, then @signature-params. */
export function signatureBase(request: Request, components: string[], rawParams: string): string {
  const lines = components.map((c) => `"${c}": ${componentValue(request, c)}`);
  lines.push(`"@signature-params": ${rawParams}`);
  return lines.join("\n");
}

export function serializeParams(
  components: string[],
  params: { created: number; keyid: string; alg?: string },
): string {
  const list = `(${components.map((c) => `"${c}"`).join(" ")})`;
  return `${list};created=${params.created};keyid="${params.keyid}"${params.alg ? `;alg="${params.alg}"` : ""}`;
}
