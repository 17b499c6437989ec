/**
 * What outside testing sent through every remote field: URLs that a browser or client reads as another
 * scheme than http(s) (four of these ran script on click), and ones only a lenient parser reads as
 * http(s). None may be stored or reach a client.
 */
export const NOT_HTTP_URLS = [
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  " javascript:alert(1)",
  "\u0001javascript:alert(1)",
  "\u0000javascript:alert(1)",
  "java\tscript:alert(1)",
  "java\nscript:alert(1)",
  "java\rscript:alert(1)",
  "javascript&colon;alert(1)",
  "&#106;avascript:alert(1)",
  "javascript://https://ok.example/%0aalert(1)",
  "vbscript:msgbox(1)",
  "VBScript:msgbox(1)",
  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  "data:image/svg+xml,<svg onload=alert(1)>",
  "file:///etc/passwd",
  "FILE://localhost/etc/passwd",
];

/** Written so that only some parsers read them as http(s), or so that they break out of HTML. */
export const HOSTILE_URLS = [
  " https://ok.example/leading-space",
  "\u0001https://ok.example/leading-control",
  "ht\ttps://ok.example/tab",
  "https://ok.example/a\tb",
  "https:ok.example/no-slashes",
  "https:\\\\ok.example\\backslashes",
  '"https://ok.example/"',
  'https://ok.example/"onmouseover="alert(1)',
  "https://ok.example/<script>",
  "//ok.example/scheme-relative",
  "/relative",
  "",
];

/** Every string anywhere in a JSON value (or a database row with JSON columns), with its path. */
export function strings(value: unknown, path = "$"): [string, string][] {
  if (typeof value === "string") {
    if (/^[[{]/.test(value)) {
      try {
        return strings(JSON.parse(value), path);
      } catch {
        // not JSON: a string like any other
      }
    }
    return [[path, value]];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  }
  return [];
}

const URL_KEY =
  /\.(?:[a-z_]*?(?:url|uri|href|inbox|outbox)|avatar(?:_static)?|header(?:_static)?|moved_?to)$|\.also_?known_?as\[\d+\]$/i;

/**
 * Fails unless every URL in a Mastodon API answer is http(s): string values that parse as URLs,
 * and href/src attributes inside HTML values; and no scheme of the corpus appears anywhere.
 */
export function nonHttpUrls(json: unknown): string[] {
  const bad: string[] = [];
  for (const [path, s] of strings(json)) {
    // Fields that hold a URL (Mastodon entities, stored rows): absolute http(s) only.
    if (URL_KEY.test(path) && s !== "" && !/^https?:\/\//.test(s)) bad.push(`${path}: ${JSON.stringify(s)}`);
    if (/javascript|vbscript|data:|file:/i.test(s)) bad.push(`${path}: ${s}`);
    if (/^[a-z][a-z0-9+.-]*:/i.test(s.trim()) && URL.canParse(s.trim())) {
      const protocol = new URL(s.trim()).protocol;
      if (protocol !== "http:" && protocol !== "https:") bad.push(`${path}: ${s}`);
      // An http(s) URL only to a lenient parser: not written as one, or with spaces or quotes.
      else if (!/^https?:\/\/[^\s"'<>\\]+$/i.test(s)) bad.push(`${path}: ${JSON.stringify(s)}`);
    }
    for (const m of s.matchAll(/\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
      const attr = m[1] ?? m[2] ?? m[3] ?? "";
      if (!/^https?:\/\//.test(attr)) bad.push(`${path}: href ${attr}`);
    }
  }
  return bad;
}
