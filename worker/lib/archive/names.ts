/**
 * Entry names: which ones are safe, and how Mastodon's media paths are normalized for lookup.
 *
 * A safe name is relative and stays inside the archive: no NUL, no backslash (a Windows separator that
 * would smuggle `..\`), no leading `/`, no drive letter, no `.` or `..` segment. Readers refuse an
 * unsafe name with ArchiveError("unsafe_name") when they meet it rather than guess what was meant.
 *
 * Mastodon's outbox refers to media as `/system/media_attachments/files/…` (or a full URL's path), while
 * its archives store `media_attachments/files/…`; some exports keep `system/`. `mediaKey` maps all four
 * spellings (with or without the leading slash, with or without `system/`) to one key.
 */
import { unsafeName } from "./errors";

export function checkEntryName(name: string): string {
  if (name.length === 0 || name.length > 4096) throw unsafeName(name);
  if (name.includes("\0") || name.includes("\\")) throw unsafeName(name);
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) throw unsafeName(name);
  const segments = name.split("/");
  // A trailing slash (directory entry) leaves one empty last segment, which is fine.
  for (const [i, s] of segments.entries()) {
    if (s === ".." || s === ".") throw unsafeName(name);
    if (s === "" && i !== segments.length - 1) throw unsafeName(name);
  }
  return name;
}

/** The lookup key for a media path in any of Mastodon's spellings (see the file comment). */
export function mediaKey(path: string): string {
  let p = path;
  if (/^https?:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(new URL(p).pathname);
    } catch {
      return p;
    }
  }
  p = p.replace(/^\/+/, "");
  if (p.startsWith("system/")) p = p.slice("system/".length);
  return p;
}
