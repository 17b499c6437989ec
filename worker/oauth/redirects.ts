/** The redirect URI that shows the code on a page instead of redirecting (RFC 6749 "out of band"). */
export const OOB = "urn:ietf:wg:oauth:2.0:oob";

const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);

/**
 * Whether a client may register this redirect URI: absolute, no fragment, and not a scheme that runs
 * code in the browser. Custom schemes (`com.tapbots.Ivory…:/request_token`, `icecubesapp://`) are fine.
 */
export function validRedirectUri(uri: string): boolean {
  if (uri === OOB) return true;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hash || FORBIDDEN_SCHEMES.has(url.protocol)) return false;
  if (url.protocol === "http:" && !/^(localhost|127\.0\.0\.1|\[::1\])$/.test(url.hostname)) {
    // Plain http only to the client's own machine; Mastodon allows it too, but there is no reason to.
    return false;
  }
  return true;
}

/** `redirect_uris` as sent: a string (possibly several, newline or space separated) or an array. */
export function splitRedirectUris(value: string | string[] | undefined): string[] {
  const list = Array.isArray(value) ? value : (value ?? "").split(/[\s]+/);
  return [...new Set(list.map((s) => s.trim()).filter(Boolean))];
}

/** Appends query parameters to a redirect URI that may already have some (custom schemes included). */
export function withParams(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}
