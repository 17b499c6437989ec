import { find } from "linkifyjs";
import { escapeHtml } from "../html/sanitize";
import { isTagName, normalizeTag, TAG_NAME } from "./hashtags";

/**
 * Status text as Mastodon formats it (TextFormatter): paragraphs and line breaks, linkified URLs,
 * #hashtags and @mentions. Pure apart from the mention resolver the caller passes in.
 */

export type Entity =
  | { kind: "url"; start: number; end: number; href: string }
  | { kind: "tag"; start: number; end: number; name: string }
  | { kind: "mention"; start: number; end: number; username: string; domain: string | null };

/**
 * Hashtags as Mastodon finds them: `#` or `＃` not after a word character, slash or `)`, then a tag
 * name (checked by isTagName: not digits only).
 */
const TAG = new RegExp(String.raw`(?<![\p{L}\p{M}\p{N}_/)#＃])[#＃](${TAG_NAME})`, "gu");
/** Mentions: `@user` or `@user@domain` (a domain may carry a port), not after a word character or slash. */
const MENTION =
  /(?<![\p{L}\p{N}_/@])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)(?:@([\p{L}\p{N}_.-]+[\p{L}\p{N}_](?::\d{1,5}(?!\d))?))?/giu;

/** URLs (http and https only), hashtags and mentions of `text`, in order, not overlapping. */
export function extractEntities(text: string): Entity[] {
  const out: Entity[] = [];
  for (const m of find(text, "url")) {
    if (!/^https?:\/\//i.test(m.href)) continue;
    if (!/^https?:\/\//i.test(m.value)) continue;
    out.push({ kind: "url", start: m.start, end: m.end, href: m.href });
  }
  const free = (start: number, end: number) => !out.some((e) => start < e.end && end > e.start);
  for (const m of text.matchAll(MENTION)) {
    const start = m.index;
    const end = start + m[0].length;
    if (free(start, end)) {
      out.push({ kind: "mention", start, end, username: m[1] as string, domain: m[2] ?? null });
    }
  }
  for (const m of text.matchAll(TAG)) {
    const name = m[1] as string;
    if (!isTagName(name)) continue;
    const start = m.index;
    const end = start + m[0].length;
    if (free(start, end)) out.push({ kind: "tag", start, end, name });
  }
  return out.sort((a, b) => a.start - b.start);
}

export interface MentionTarget {
  /** The profile URL the link goes to. */
  url: string;
  /** The name shown after `@`: the username, as Mastodon shows it. */
  username: string;
}

/** A URL as Mastodon shows it: scheme and `www.` invisible, the rest cut at 30 characters. */
export function linkHtml(href: string): string {
  const prefix = /^(https?:\/\/(www\.)?)/i.exec(href)?.[1] ?? "";
  const rest = href.slice(prefix.length);
  const cut = rest.length > 30;
  return (
    `<a href="${escapeHtml(href)}" target="_blank" rel="nofollow noopener">` +
    `<span class="invisible">${escapeHtml(prefix)}</span>` +
    `<span class="${cut ? "ellipsis" : ""}">${escapeHtml(rest.slice(0, 30))}</span>` +
    `<span class="invisible">${escapeHtml(rest.slice(30))}</span></a>`
  );
}

export function hashtagHtml(base: string, name: string): string {
  return (
    `<a href="${escapeHtml(`${base}/tags/${encodeURIComponent(normalizeTag(name))}`)}" ` +
    `class="mention hashtag" rel="tag">#<span>${escapeHtml(name)}</span></a>`
  );
}

export function mentionHtml(target: MentionTarget): string {
  return (
    `<span class="h-card" translate="no"><a href="${escapeHtml(target.url)}" class="u-url mention">` +
    `@<span>${escapeHtml(target.username)}</span></a></span>`
  );
}

/** The key a mention is resolved by: `user` or `user@domain`, lower case. */
export function mentionKey(username: string, domain: string | null): string {
  return (domain ? `${username}@${domain}` : username).toLowerCase();
}

/**
 * Renders text to HTML. `mentions` maps mentionKey → target; a mention without a target stays
 * plain text, as on Mastodon.
 */
export function renderText(
  text: string,
  opts: { base: string; mentions?: Map<string, MentionTarget> },
): string {
  const trimmed = text.replace(/\r\n?/g, "\n").trim();
  const entities = extractEntities(trimmed);
  let html = "";
  let at = 0;
  for (const e of entities) {
    html += escapeHtml(trimmed.slice(at, e.start));
    const raw = trimmed.slice(e.start, e.end);
    if (e.kind === "url") html += linkHtml(e.href);
    else if (e.kind === "tag") html += hashtagHtml(opts.base, e.name);
    else {
      const target = opts.mentions?.get(mentionKey(e.username, e.domain));
      html += target ? mentionHtml(target) : escapeHtml(raw);
    }
    at = e.end;
  }
  html += escapeHtml(trimmed.slice(at));
  if (!html) return "";
  return html
    .split(/\n{2,}/)
    .map((p) => `<p>${p.replace(/\n/g, "<br>")}</p>`)
    .join("");
}

/**
 * Hashtag names of a text as written, in order, one per tag: `#Café` and `#cafe` are one tag
 * (normalizeTag), and the first spelling is kept.
 */
export function extractTags(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of extractEntities(text)) {
    if (e.kind !== "tag") continue;
    const key = normalizeTag(e.name);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push(e.name);
  }
  return out;
}

/**
 * Length as Mastodon counts it toward the character limit: every URL counts 23 characters and a
 * mention of a remote account counts only its `@user` part. Counts code points.
 */
export function statusLength(text: string): number {
  let n = 0;
  let at = 0;
  for (const e of extractEntities(text)) {
    n += [...text.slice(at, e.start)].length;
    if (e.kind === "url") n += 23;
    else if (e.kind === "mention") n += 1 + [...e.username].length;
    else n += [...text.slice(e.start, e.end)].length;
    at = e.end;
  }
  return n + [...text.slice(at)].length;
}
