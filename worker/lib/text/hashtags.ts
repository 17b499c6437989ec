/**
 * Hashtag names as Mastodon normalizes them (app/lib/hashtag_normalizer.rb and Tag::Naming), so that
 * `#Café`, `#CAFÉ`, `#cafe` and full-width `#ｃａｆｅ` are one tag here and link to the same tag on
 * peers, which match tags by their normalized name:
 * 1. NFKC (full-width and other compatibility forms become their plain letters, decomposed accents
 *    are composed);
 * 2. lower case, with the locale-independent Unicode mapping (never `toLocaleLowerCase`: a Turkish
 *    locale would turn `I` into `ı`);
 * 3. accents of Latin-1 and Latin Extended-A letters folded to ASCII (`é` → `e`, `ł` → `l`), as
 *    Mastodon's ASCIIFolding does; letters outside that range (Vietnamese, Greek, …) keep theirs;
 * 4. everything but letters, decimal digits, Thai tone marks and the separators `_`, `·`, `・` and
 *    ZWNJ removed (Mastodon's HASHTAG_INVALID_CHARS_RE, whose `[[:alnum:]]` is Ruby's Alphabetic plus
 *    decimal digits).
 */

/** Letters without a canonical decomposition that Mastodon's ASCIIFolding still folds (lower case). */
const UNDECOMPOSABLE: Record<string, string> = {
  ð: "d",
  đ: "d",
  ħ: "h",
  ı: "i",
  ĸ: "k",
  ŀ: "l",
  ł: "l",
  ŋ: "n",
  ø: "o",
  ŧ: "t",
};

/** Letters of U+00C0–U+017F that Mastodon leaves alone: ligatures, thorn and sharp s. */
const NOT_FOLDED = new Set([..."ÆæÞþßĲĳŒœ"]);

/** The ASCII letter Mastodon folds a Latin-1 / Latin Extended-A letter to, or the letter itself. */
function foldLetter(c: string): string {
  if (c < "\u00c0" || c > "\u017f" || NOT_FOLDED.has(c)) return c;
  const mapped = UNDECOMPOSABLE[c];
  if (mapped) return mapped;
  const base = c.normalize("NFD").replace(/\p{M}/gu, "");
  return /^[a-zA-Z]$/.test(base) ? base : c;
}

const INVALID = /[^\p{Alphabetic}\p{Nd}\u0e47-\u0e4e_\u00b7\u30fb\u200c]/gu;

/**
 * The normalized form of a hashtag name (with or without its leading `#`): the key tags are stored,
 * followed, featured and looked up by. May be empty when nothing of the name is allowed in a tag.
 */
export function normalizeTag(name: string): string {
  const plain = name.normalize("NFKC").replace(/^#/, "").toLowerCase();
  return plain.replace(/[\u00c0-\u017f]/g, foldLetter).replace(INVALID, "");
}

/**
 * A tag name as the author wrote it, with the characters that cannot be part of a tag removed (as
 * Mastodon keeps a tag's display_name): for showing, never for matching.
 */
export function displayTag(name: string): string {
  return name
    .normalize("NFC")
    .replace(/^[#＃]/, "")
    .replace(INVALID, "");
}

/** Ruby's `[[:word:]]` (letters, marks, decimal digits, `_`), and the separators allowed inside a tag. */
const WORD = String.raw`\p{L}\p{M}\p{Nd}_`;
const SEPARATORS = String.raw`\u00b7\u30fb\u200c`;
const W = `[${WORD}]`;
const WS = `[${WORD}${SEPARATORS}]`;
const ALPHA = String.raw`[\p{L}\p{M}]`;

/**
 * The characters a hashtag is read from, after `#`: word characters, with `·`, `・` or ZWNJ inside but
 * never at either end (Mastodon's HASHTAG_NAME_PAT).
 */
export const TAG_NAME = `${W}(?:${WS}*${W})?`;

/** Mastodon's HASHTAG_NAME_RE: a letter somewhere, or a separator between word characters ("1_2"). */
const VALID_NAME = new RegExp(
  `^(?:${W}${WS}*[${String.raw`\p{L}\p{M}_`}${SEPARATORS}]${WS}*${W}|${W}*${ALPHA}${W}*)$`,
  "u",
);

/** Whether `name` (without `#`) is a hashtag name Mastodon accepts; digits alone are not. */
export function isTagName(name: string): boolean {
  return name.length > 0 && name.length <= 100 && VALID_NAME.test(name);
}
