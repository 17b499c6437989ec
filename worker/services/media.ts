import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { mediaAttachments } from "../db/schema";
import { HttpError, notFound, unprocessable } from "../lib/errors";
import { newId } from "../lib/ids";
import { cleanText } from "../lib/text/clean";
import { readMp4VideoSize, SNIFF_BYTES, sniff, type Sniffed } from "../lib/media/sniff";

export type MediaRow = typeof mediaAttachments.$inferSelect;

/** The limits /api/v2/instance advertises (configuration.media_attachments). */
export const IMAGE_SIZE_LIMIT = 16 * 1024 * 1024;
/**
 * Lower than Mastodon's 99 MiB: an upload is read whole into the Worker's memory (128 MB per isolate)
 * before it goes to R2, so a video plus its parsing has to fit there with room to spare.
 */
export const VIDEO_SIZE_LIMIT = 40 * 1024 * 1024;
export const DESCRIPTION_LIMIT = 1500;
/** Every type sniff() accepts, for configuration.media_attachments.supported_mime_types. */
export const SUPPORTED_MIME_TYPES = [
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/quicktime",
  "video/webm",
  "video/ogg",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "audio/wav",
  "audio/flac",
];
/** The largest multipart body the upload routes read: a video at its limit plus a thumbnail. */
export const MAX_UPLOAD_BODY = VIDEO_SIZE_LIMIT + IMAGE_SIZE_LIMIT + 64 * 1024;

const MIB = 1024 * 1024;

/** Reads a file's type from its bytes; 422 for anything Perch does not accept. */
export async function sniffFile(file: File, what = "File"): Promise<Sniffed> {
  if (file.size === 0) throw unprocessable(`Validation failed: ${what} is empty`);
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  const found = sniff(head);
  if (!found) {
    throw unprocessable(
      `Validation failed: ${what} content type is not supported (accepted: JPEG, PNG, GIF, WebP, AVIF images; MP4, MOV, WebM video; MP3, OGG, WAV, FLAC, M4A audio)`,
    );
  }
  return found;
}

/** 422 when a file is over the limit for its kind. */
export function checkSize(file: File, kind: Sniffed["kind"], what = "File"): void {
  const limit = kind === "image" ? IMAGE_SIZE_LIMIT : VIDEO_SIZE_LIMIT;
  if (file.size > limit) {
    throw new HttpError(
      422,
      `Validation failed: ${what} file size must be less than ${Math.round(limit / MIB)} MB`,
      "too_large",
    );
  }
}

/** Focus as Mastodon takes it: "x,y" with both in -1..1. */
export function parseFocus(value: string): { x: number; y: number } {
  const parts = value.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if (
    parts.length !== 2 ||
    parts.some((s) => s === "") ||
    nums.some((n) => !Number.isFinite(n) || n < -1 || n > 1)
  ) {
    throw unprocessable('Validation failed: focus must be two numbers between -1.0 and 1.0, as "x,y"');
  }
  return { x: nums[0] as number, y: nums[1] as number };
}

/** An alt text as stored (control characters removed, lib/text/clean); 422 when it is too long. */
export function checkDescription(input: string): string {
  const description = cleanText(input);
  if (description.length > DESCRIPTION_LIMIT) {
    throw unprocessable(
      `Validation failed: Description is too long (maximum is ${DESCRIPTION_LIMIT} characters)`,
    );
  }
  return description;
}

async function putFile(ctx: Ctx, key: string, file: File, type: Sniffed): Promise<void> {
  await ctx.env.MEDIA.put(key, file, { httpMetadata: { contentType: type.mime } });
}

/** A thumbnail (images only) checked and stored under media/<id>/thumbnail-<n>.<ext>. */
async function storeThumbnail(ctx: Ctx, mediaId: string, file: File): Promise<string> {
  const type = await sniffFile(file, "Thumbnail");
  if (type.kind !== "image") throw unprocessable("Validation failed: Thumbnail must be an image");
  checkSize(file, "image", "Thumbnail");
  const key = `media/${mediaId}/thumbnail-${newId()}.${type.ext}`;
  await putFile(ctx, key, file, type);
  return key;
}

export interface UploadInput {
  file: File;
  thumbnail?: File;
  description?: string;
  focus?: string;
}

/**
 * Stores an upload: the type sniffed from its bytes, the original in R2 under
 * media/<id>/original.<ext>, and an unattached media_attachments row. Nothing is transcoded, so the
 * attachment is ready at once.
 */
export async function createMedia(ctx: Ctx, input: UploadInput): Promise<MediaRow> {
  const type = await sniffFile(input.file);
  checkSize(input.file, type.kind);
  if (type.mime === "video/mp4" || type.mime === "video/quicktime") {
    const file = input.file;
    Object.assign(
      type,
      await readMp4VideoSize(
        file.size,
        async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()),
      ),
    );
  }
  const description = input.description ? checkDescription(input.description) : null;
  const focus = input.focus ? parseFocus(input.focus) : null;
  if (input.thumbnail) {
    const t = await sniffFile(input.thumbnail, "Thumbnail");
    if (t.kind !== "image") throw unprocessable("Validation failed: Thumbnail must be an image");
    checkSize(input.thumbnail, "image", "Thumbnail");
  }
  const id = newId();
  const key = `media/${id}/original.${type.ext}`;
  const written: string[] = [];
  try {
    await putFile(ctx, key, input.file, type);
    written.push(key);
    const thumbnailKey = input.thumbnail ? await storeThumbnail(ctx, id, input.thumbnail) : null;
    if (thumbnailKey) written.push(thumbnailKey);
    const [row] = await ctx.db
      .insert(mediaAttachments)
      .values({
        id,
        statusId: null,
        type: type.kind,
        mimeType: type.mime,
        key,
        size: input.file.size,
        width: type.width ?? null,
        height: type.height ?? null,
        description,
        focus,
        thumbnailKey,
      })
      .returning();
    if (!row) throw new Error("media insert returned no row");
    return row;
  } catch (err) {
    if (written.length) await ctx.env.MEDIA.delete(written).catch(() => undefined);
    throw err;
  }
}

export async function findMedia(ctx: Ctx, id: string): Promise<MediaRow | undefined> {
  if (!/^\d{1,20}$/.test(id)) return undefined;
  return (await ctx.db.select().from(mediaAttachments).where(eq(mediaAttachments.id, id)).limit(1))[0];
}

/** An attachment not yet used by a status (the only ones Mastodon lets a client read or change). */
export async function findUnattachedMedia(ctx: Ctx, id: string): Promise<MediaRow> {
  const row = await findMedia(ctx, id);
  if (!row || row.statusId !== null) throw notFound();
  return row;
}

export interface MediaChanges {
  description?: string;
  focus?: string;
  thumbnail?: File;
}

/** Changes the description, focus or thumbnail of an unattached upload. */
export async function updateMedia(ctx: Ctx, id: string, changes: MediaChanges): Promise<MediaRow> {
  const row = await findUnattachedMedia(ctx, id);
  const set: Partial<MediaRow> = {};
  if (changes.description !== undefined) set.description = checkDescription(changes.description) || null;
  if (changes.focus !== undefined) set.focus = changes.focus === "" ? null : parseFocus(changes.focus);
  if (changes.thumbnail) set.thumbnailKey = await storeThumbnail(ctx, row.id, changes.thumbnail);
  if (Object.keys(set).length === 0) return row;
  const [updated] = await ctx.db
    .update(mediaAttachments)
    .set(set)
    .where(eq(mediaAttachments.id, row.id))
    .returning();
  if (!updated) throw notFound();
  if (set.thumbnailKey && row.thumbnailKey) await ctx.env.MEDIA.delete(row.thumbnailKey);
  return updated;
}

/** Deletes an unattached upload and its files; 422 when a status uses it, as Mastodon answers. */
export async function deleteMedia(ctx: Ctx, id: string): Promise<void> {
  const row = await findMedia(ctx, id);
  if (!row) throw notFound();
  if (row.statusId !== null) {
    throw unprocessable("Media attachment is currently used by a status", "media_in_use");
  }
  await ctx.db.delete(mediaAttachments).where(eq(mediaAttachments.id, row.id));
  await ctx.env.MEDIA.delete([row.key, ...(row.thumbnailKey ? [row.thumbnailKey] : [])]);
}
