/**
 * Which remote URLs Perch may contact: https on a public DNS name, on the default port, without
 * credentials. Loopback mode (two local instances, tests) also allows http and loopback hosts, never
 * private ranges. The WHATWG URL parser already normalises numeric host tricks (http://2130706433/).
 */
export type UrlRejection =
  | "invalid_url"
  | "scheme_not_allowed"
  | "credentials"
  | "ip_literal"
  | "private_address"
  | "port_not_allowed";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

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
  if (url.username || url.password) return { ok: false, reason: "credentials" };
  const host = url.hostname.toLowerCase();
  const loopback = isLoopback(host);
  if (loopback) {
    if (!opts.allowLoopback) return { ok: false, reason: "private_address" };
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return { ok: false, reason: "scheme_not_allowed" };
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "scheme_not_allowed" };
  if (isIpv4(host) || host.startsWith("[")) {
    return { ok: false, reason: isPrivateIp(host) ? "private_address" : "ip_literal" };
  }
  if (
    !host.includes(".") ||
    host.endsWith(".local") ||
    host.endsWith(".internal") ||
    host.endsWith(".localhost")
  ) {
    return { ok: false, reason: "private_address" };
  }
  if (url.port && url.port !== "443") return { ok: false, reason: "port_not_allowed" };
  return { ok: true, url };
}

function isLoopback(host: string): boolean {
  if (LOOPBACK_NAMES.has(host)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isIpv4(host: string): boolean {
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Private, link-local, shared, unspecified and IPv4-mapped ranges (IPv4 and bracketed IPv6). */
export function isPrivateIp(host: string): boolean {
  if (isIpv4(host)) {
    const [a, b] = host.split(".").map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  const v6 = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (v6 === "::" || v6 === "::1") return true;
  const mapped = /^::ffff:(.*)$/.exec(v6);
  if (mapped) return true;
  return /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6);
}
