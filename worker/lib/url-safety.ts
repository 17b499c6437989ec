/**
 * Which remote URLs Perch may contact: https on a public DNS name, on the default port, without
 * credentials. Loopback mode (two local instances, tests) also allows http and loopback hosts, never
 * private ranges.
 *
 * Names are judged as the URL parser leaves them (lower case, IDNA to ASCII, percent-escapes decoded,
 * numeric IPv4 forms such as `2130706433` or `0x7f.1` turned into dotted quads) with trailing dots
 * removed (`localhost.` is `localhost` to a resolver). Every IP literal is refused. A Worker cannot
 * resolve a name before it fetches it, so a public name that resolves to a private address can only
 * be refused by knowing the name: internal suffixes and wildcard-DNS services are refused below.
 *
 * What the platform itself documents (https://developers.cloudflare.com/workers/platform/known-issues/,
 * "Fetch to IP addresses" and "Fetch API in CNAME setup"): a deployed Worker's subrequests "can only be
 * made to URLs, not to IP addresses directly", and fetch() resolves names with Cloudflare's DNS
 * resolver. Cloudflare documents no rule about names that resolve to private addresses, and none of
 * this holds under `wrangler dev`, where workerd fetches from the developer's machine; hence these
 * checks. FEDERATION.md ("What Perch fetches, and what it refuses") says the same for operators.
 */
export type UrlRejection =
  | "invalid_url"
  | "scheme_not_allowed"
  | "credentials"
  | "ip_literal"
  | "private_address"
  | "port_not_allowed";

export function checkRemoteUrl(
  input: string,
  opts: { allowLoopback: boolean },
): { ok: true; url: URL } | { ok: false; reason: UrlRejection } {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, reason: "invalid_url" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return { ok: false, reason: "scheme_not_allowed" };
  if (url.username || url.password) return { ok: false, reason: "credentials" };
  const host = normalizeHost(url.hostname);
  if (!host) return { ok: false, reason: "invalid_url" };
  if (isLoopback(host)) {
    return opts.allowLoopback ? { ok: true, url } : { ok: false, reason: "private_address" };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "scheme_not_allowed" };
  if (isIpv4(host) || host.startsWith("[")) {
    return { ok: false, reason: isPrivateIp(host) ? "private_address" : "ip_literal" };
  }
  if (isInternalName(host)) return { ok: false, reason: "private_address" };
  if (url.port && url.port !== "443") return { ok: false, reason: "port_not_allowed" };
  return { ok: true, url };
}

/**
 * A host as a resolver sees it. The WHATWG parser has already lower-cased it, mapped it through IDNA
 * (full-width letters, `。` for `.`), decoded percent-escapes and parsed every IPv4 form; what is
 * left is the trailing dots of a fully qualified name, which name the same host.
 */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, "");
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "[::1]") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isIpv4(host: string): boolean {
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Suffixes that name no public host (each refused as the name itself and for every name below it).
 * - localhost: RFC 6761 §6.3 (resolves to loopback); local: RFC 6762 (mDNS);
 * - home.arpa: RFC 8375 (home networks); internal: ICANN's private-use TLD (2024), also Google Cloud's
 *   `metadata.google.internal` and AWS's `*.ec2.internal`; onion: RFC 7686 (Tor, never DNS);
 * - intranet, internal, private, corp, home, lan: RFC 6762 Appendix G, "not recommended, but used";
 *   localdomain: the name many systems give 127.0.0.1 in /etc/hosts;
 * - svc and cluster.local: Kubernetes cluster DNS (`kubernetes.default.svc`,
 *   `<service>.<namespace>.svc.cluster.local`, https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/).
 */
const INTERNAL_SUFFIXES = [
  "localhost",
  "local",
  "home.arpa",
  "internal",
  "onion",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "localdomain",
  "svc",
  "cluster.local",
];

/**
 * Public wildcard-DNS services whose names resolve to whatever address they spell or to loopback, so
 * `10.0.0.1.nip.io` is 10.0.0.1. nip.io, sslip.io (https://sslip.io) and xip.io (defunct, the
 * original) embed any IP; traefik.me and local.gd likewise or to 127.0.0.1; localtest.me, lvh.me,
 * vcap.me (Cloud Foundry), lacolhost.com and localhost.direct resolve every name to 127.0.0.1.
 * Names embedding a private IPv4 address are refused below whatever service serves them.
 */
const WILDCARD_DNS = [
  "nip.io",
  "sslip.io",
  "xip.io",
  "traefik.me",
  "local.gd",
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "lacolhost.com",
  "localhost.direct",
];

/** A name without a dot, under an internal suffix, of a wildcard-DNS service, or spelling a private IP. */
function isInternalName(host: string): boolean {
  if (!host.includes(".")) return true;
  const under = (suffix: string) => host === suffix || host.endsWith(`.${suffix}`);
  if (INTERNAL_SUFFIXES.some(under) || WILDCARD_DNS.some(under)) return true;
  return spellsPrivateIp(host);
}

/**
 * Whether a name spells a private IPv4 address the way wildcard-DNS services read it: four labels
 * (`10.0.0.1.example`) or one label with dashes (`10-0-0-1.example`, `app-192-168-1-1.example`).
 */
function spellsPrivateIp(host: string): boolean {
  const labels = host.split(".");
  for (let i = 0; i + 4 <= labels.length; i++) {
    const quad = labels.slice(i, i + 4).join(".");
    if (isIpv4(quad) && isPrivateIp(quad)) return true;
  }
  for (const m of host.matchAll(/(?:^|[^\d])(\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3})(?![\d])/g)) {
    const quad = (m[1] as string).replace(/-/g, ".");
    if (isPrivateIp(quad)) return true;
  }
  return false;
}

/**
 * Private, loopback, link-local, shared, unspecified, documentation, benchmarking, multicast and
 * reserved ranges (IANA's special-purpose registries, RFC 6890), IPv4 and bracketed IPv6, including
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64).
 */
export function isPrivateIp(host: string): boolean {
  if (isIpv4(host)) {
    const [a, b, c] = host.split(".").map(Number) as [number, number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 0 && (c === 0 || c === 2)) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      (a === 198 && b === 51 && c === 100) ||
      (a === 203 && b === 0 && c === 113) ||
      a >= 224
    );
  }
  const v6 = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (v6 === "::" || v6 === "::1") return true;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d (NAT64), as the parser
  // writes them (hex groups) or as dotted quads.
  if (/^(?:::ffff:|::|64:ff9b::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})$/.test(v6))
    return true;
  return (
    /^f[cd]/.test(v6) || // fc00::/7 unique local
    /^fe[89ab]/.test(v6) || // fe80::/10 link-local
    /^fe[c-f]/.test(v6) || // fec0::/10 site-local (deprecated)
    /^ff/.test(v6) || // multicast
    /^2001:db8:/.test(v6) || // documentation
    /^100::/.test(v6) // discard-only
  );
}
