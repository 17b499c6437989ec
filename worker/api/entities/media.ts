import type { Config } from "../../config";
import type { Attachment } from "../../db/schema";
import type { mediaAttachments } from "../../db/schema";
import { uris } from "../../federation/uris";

export type MediaRow = typeof mediaAttachments.$inferSelect;

/** Mastodon's MediaAttachment.type for a MIME type. */
export function mediaType(mime: string | undefined): "image" | "gifv" | "video" | "audio" | "unknown" {
  if (!mime) return "unknown";
  if (mime === "image/gif") return "image";
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("video/")) return "video";
  if (mime.startsWith("audio/")) return "audio";
  return "unknown";
}

/** Where the Worker serves an R2 object of the owner's media. */
export function mediaUrl(config: Config, key: string): string {
  return `${uris(config).base}/media/${key}`;
}

function meta(width?: number | null, height?: number | null, focus?: { x: number; y: number } | null) {
  const out: Record<string, unknown> = {};
  if (width && height) {
    const size = { width, height, size: `${width}x${height}`, aspect: width / height };
    out.original = size;
    out.small = size;
  }
  if (focus) out.focus = focus;
  return out;
}

/** An uploaded media row as Mastodon's MediaAttachment entity. */
export function serializeMediaRow(config: Config, m: MediaRow) {
  const url = mediaUrl(config, m.key);
  return {
    id: m.id,
    type: m.type,
    url,
    preview_url: m.thumbnailKey ? mediaUrl(config, m.thumbnailKey) : url,
    remote_url: null,
    preview_remote_url: null,
    text_url: null,
    meta: meta(m.width, m.height, m.focus),
    description: m.description,
    blurhash: m.blurhash,
  };
}

/**
 * An attachment of a status (as stored with the status) as a MediaAttachment. Remote attachments
 * have no row of their own, so their id is derived from the status id and position.
 */
export function serializeAttachment(statusId: string, index: number, a: Attachment, local: boolean) {
  const type = a.type === "Video" ? "video" : a.type === "Audio" ? "audio" : mediaType(a.mediaType);
  return {
    id: a.mediaId ?? `${statusId}${String(index).padStart(2, "0")}`,
    type,
    url: a.url,
    preview_url: a.previewUrl ?? a.url,
    remote_url: local ? null : a.url,
    preview_remote_url: null,
    text_url: null,
    meta: meta(a.width, a.height, a.focus),
    description: a.name ?? null,
    blurhash: a.blurhash ?? null,
  };
}
