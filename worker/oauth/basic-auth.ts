/**
 * The user and password of an HTTP Basic `Authorization` header (RFC 7617), decoded as UTF-8
 * (§2.1), or null when the header is absent or not Basic credentials.
 */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
  if (!match) return null;
  try {
    const bytes = Uint8Array.from(atob(match[1] as string), (ch) => ch.charCodeAt(0));
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    const colon = text.indexOf(":");
    if (colon < 0) return null;
    return { user: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return null;
  }
}
