import { cleanText } from "../text/clean";

/**
 * Remote HTML reduced to Mastodon's allow-list (MASTODON_STRICT in Mastodon 4.x app/lib/sanitize_config.rb):
 * - elements p br span a del s pre blockquote code b strong u i em ul ol li ruby rt rp;
 *   h1–h6 become <p><strong>…</strong></p>; other elements are unwrapped (content kept), except the
 *   ones in DROP, removed with their content; comments, doctypes and CDATA are removed;
 * - attributes a[href class translate], span[class translate], p[class], ol[start reversed], li[value];
 *   classes only microformats (h-/p-/u-/dt-/e-), mention, hashtag, ellipsis, invisible, quote-inline;
 *   translate only "no"; links get rel="nofollow noopener" target="_blank";
 * - an <a> whose href is not an absolute http(s) URL is unwrapped. (Mastodon also links dat, dweb,
 *   ipfs, ipns, ssb, gopher, xmpp, magnet and gemini; Perch passes no URL of another scheme from a
 *   remote document to clients, so those links become their text.)
 * - control characters Perch never stores (lib/text/clean) are removed, raw or as references.
 *
 * HTMLRewriter (lol-html) streams rather than building a tree, and passes through some things raw:
 * attribute values undecoded, the text of RCDATA elements, stray end tags (`</div>`), and an unterminated
 * tag at the end of input. So attribute values are decoded, checked and re-escaped here, text is
 * re-escaped, and a final pass over the (by then very regular) output keeps only allowed tags, drops
 * anything else that starts with "<", and closes elements so that the fragment is balanced and cannot
 * close or leak into the page it is embedded in.
 */

const ALLOWED = new Set(
  "p br span a del s pre blockquote code b strong u i em ul ol li ruby rt rp".split(" "),
);
const HEADINGS = new Set(["h1", "h2", "h3", "h4", "h5", "h6"]);
/** Removed with everything inside: scripts, styles, embedded documents, raw-text and foreign content. */
const DROP = new Set(
  (
    "script style iframe frame frameset object embed applet noscript noembed noframes template textarea " +
    "title xmp plaintext svg math head select"
  ).split(" "),
);
/** Unwrapped block elements get a space on each side so that words do not run together. */
const BLOCKS = new Set(
  (
    "div section article header footer nav aside address main figure figcaption dl dt dd hr table caption " +
    "tr td th details summary hgroup center"
  ).split(" "),
);
const LINK_PROTOCOLS = new Set(["http", "https"]);
const ALLOWED_CLASS = /^(?:(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible|quote-inline)$/;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and (double- or single-quoted) attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  colon: ":",
  Tab: "\t",
  NewLine: "\n",
  sol: "/",
  num: "#",
  quest: "?",
  equals: "=",
  period: ".",
  percnt: "%",
  commat: "@",
  plus: "+",
};
// Numeric references 0x80–0x9F mean windows-1252 characters (HTML §13.2.5.80).
const C1 = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ";

/**
 * Decodes character references in an attribute value as a browser would: numeric ones with or without
 * ";", named ones (a small set; others stay literal, and so get re-escaped) only with ";".
 */
function decodeAttribute(raw: string): string {
  return raw.replace(/&(?:#(?:[xX]([0-9a-fA-F]+)|(\d+));?|([a-zA-Z][a-zA-Z0-9]*);)/g, (m, hex, dec, name) => {
    if (name !== undefined) return NAMED[name as string] ?? m;
    const code = hex !== undefined ? parseInt(hex as string, 16) : parseInt(dec as string, 10);
    if (code >= 0x80 && code <= 0x9f) return C1[code - 0x80] as string;
    if (!code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
    return String.fromCodePoint(code);
  });
}

const NUMERIC_REFERENCE = /&#(?:[xX]([0-9a-fA-F]+)|(\d+));?/g;

/**
 * A numeric character reference, or nothing when it stands for a C0 control other than tab, line feed
 * and carriage return, or DEL (0x80–0x9F are windows-1252 letters in HTML, not controls).
 */
function dropControl(ref: string, hex: string | undefined, dec: string | undefined): string {
  const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec as string, 10);
  const control = (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f;
  return control ? "" : ref;
}

/** The href to keep: an absolute http(s) URL, normalised; null otherwise. */
function safeHref(raw: string): string | null {
  // What a URL parser does first: strip leading/trailing C0 controls and spaces, remove tabs and newlines.
  const value = decodeAttribute(raw)
    .replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "")
    .replace(/[\t\n\r]/g, "");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (!scheme || !LINK_PROTOCOLS.has(scheme)) return null;
  try {
    const url = new URL(value);
    return url.protocol === `${scheme}:` ? url.href : null;
  } catch {
    return null;
  }
}

/** The sanitized attributes of an allowed element, decoded (escaping happens when they are set). */
function allowedAttributes(tag: string, attrs: Map<string, string>): Map<string, string> | null {
  const out = new Map<string, string>();
  if (tag === "a") {
    const href = safeHref(attrs.get("href") ?? "");
    if (!href) return null;
    out.set("href", href).set("rel", "nofollow noopener").set("target", "_blank");
  }
  const classes = attrs
    .get("class")
    ?.split(/[\t\n\f\r ]+/)
    .filter((c) => ALLOWED_CLASS.test(c));
  if (classes?.length && (tag === "a" || tag === "span" || tag === "p")) out.set("class", classes.join(" "));
  if ((tag === "a" || tag === "span") && attrs.get("translate") === "no") out.set("translate", "no");
  const number = (name: string) => {
    const value = attrs.get(name)?.trim();
    if (value && /^-?\d{1,9}$/.test(value)) out.set(name, String(Number(value)));
  };
  if (tag === "ol") {
    number("start");
    if (attrs.has("reversed")) out.set("reversed", "");
  }
  if (tag === "li") number("value");
  return out;
}

const START_TAG = /^<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*\/?>$/;
const END_TAG = /^<\/([a-zA-Z][a-zA-Z0-9]*)\s*>$/;
const BLOCK_STARTS = new Set(["p", "pre", "blockquote", "ul", "ol", "li"]);
const LIST_BOUNDARIES = new Set(["ul", "ol", "blockquote", "pre"]);

/**
 * The final pass. By now text has no "<" and attribute values neither "<" nor ">", so every "<" starts
 * markup: allowed start and end tags are kept, with the few implied end tags of the HTML parser applied
 * (a block closes an open <p>, an <li> closes an open <li>, an <a> an open <a>); end tags without an open
 * element and any other markup (doctypes, unterminated tags) are dropped; what is open at the end is closed.
 */
function balance(html: string): string {
  const out: string[] = [];
  const open: string[] = [];
  const closeThrough = (index: number) => {
    while (open.length > index) out.push(`</${open.pop()}>`);
  };
  for (const token of html.match(/<[^<>]*>?|[^<]+/g) ?? []) {
    if (!token.startsWith("<")) {
      out.push(token);
      continue;
    }
    const start = START_TAG.exec(token);
    const name = (start?.[1] ?? END_TAG.exec(token)?.[1])?.toLowerCase();
    if (!name || !ALLOWED.has(name)) continue;
    if (!start) {
      const index = open.lastIndexOf(name);
      if (index >= 0) closeThrough(index);
      continue;
    }
    if (BLOCK_STARTS.has(name) && open.includes("p")) closeThrough(open.lastIndexOf("p"));
    if (name === "li") {
      for (let i = open.length - 1; i >= 0 && !LIST_BOUNDARIES.has(open[i] as string); i--) {
        if (open[i] === "li") {
          closeThrough(i);
          break;
        }
      }
    }
    if (name === "a" && open.includes("a")) closeThrough(open.lastIndexOf("a"));
    out.push(`<${name}${start[2] ?? ""}>`);
    if (name !== "br") open.push(name);
  }
  closeThrough(0);
  return out.join("");
}

/** Sanitizes remote HTML to Mastodon's allow-list, using HTMLRewriter (available in workerd). */
export async function sanitizeHtml(html: string): Promise<string> {
  if (!html) return "";
  const rewriter = new HTMLRewriter()
    .on("*", {
      element(el) {
        let tag = el.tagName.toLowerCase();
        if (DROP.has(tag)) return void el.remove();
        if (HEADINGS.has(tag)) {
          el.tagName = tag = "strong";
          el.before("<p>", { html: true });
          el.onEndTag((end) => void end.after("</p>", { html: true }));
        } else if (!ALLOWED.has(tag)) {
          if (BLOCKS.has(tag)) el.before(" ").after(" ");
          return void el.removeAndKeepContent();
        }
        const attrs = new Map<string, string>();
        for (const [name, value] of [...el.attributes]) {
          if (name === undefined) continue;
          attrs.set(name.toLowerCase(), decodeAttribute(value ?? ""));
          el.removeAttribute(name);
        }
        const kept = allowedAttributes(tag, attrs);
        if (!kept) return void el.removeAndKeepContent();
        for (const [name, value] of kept) el.setAttribute(name, escapeHtml(value));
      },
    })
    .onDocument({
      comments: (comment) => void comment.remove(),
      // Text comes through as it was written: "<" and ">" in it can only be literal characters (the
      // tokenizer took every tag), and RCDATA text such as a <textarea>'s is raw. Escape them. Its
      // character references stay as written, so the ones that would decode to a control character
      // Perch does not store (`&#0;`, `&#x1b;`) are removed here; raw ones were removed from the input.
      text: (text) =>
        void text.replace(
          text.text.replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(NUMERIC_REFERENCE, dropControl),
          { html: true },
        ),
    });
  const source = cleanText(html);
  const response = new Response(source, { headers: { "content-type": "text/html; charset=utf-8" } });
  return balance(await rewriter.transform(response).text()).trim();
}
