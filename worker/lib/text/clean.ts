/**
 * Control characters Perch never stores: C0 controls other than tab and line feed (NUL ends strings
 * in C clients and logs, ESC starts terminal sequences, the rest are invisible in text), DEL, and the
 * C1 controls U+0080–U+009F (CSI among them; text never needs them, and a windows-1252 mix-up is the
 * usual reason they appear). Tab and line feed are kept: posts, bios and alt text use them.
 * Carriage returns are not removed but turned into line feeds, so that every stored text has one
 * kind of line break.
 */
const STRIPPED_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Plain text as Perch stores it, from a remote document or from the owner: line breaks as "\n", the
 * control characters above removed, and unpaired UTF-16 surrogates (which JSON can carry as `\ud800`
 * but UTF-8 cannot encode) replaced by U+FFFD.
 */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(STRIPPED_CONTROLS, "").replace(LONE_SURROGATE, "\ufffd");
}

/** At most `max` characters of `text`, never cutting a character in half (counts code points). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return [...text].slice(0, max).join("");
}
