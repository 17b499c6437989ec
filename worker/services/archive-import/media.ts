/**
 * Copying a post's attachments out of the archive into R2 as the owner's media. An attachment is
 * found by its path in any of Mastodon's spellings (lib/archive/names.ts); its type is read from its
 * bytes, as for an upload. One that is missing, too large or of a type Perch does not serve is a skip
 * with its reason; the post is imported without it.
 *
 * R2 keys are derived from the job, the item and the attachment's place, so a chunk that crashed and
 * runs again writes the same objects again instead of leaving copies behind.
 */
import type { Ctx } from "../../context";
import { ArchiveError } from "../../lib/archive/errors";
import type { ZipReader } from "../../lib/archive/zip/reader";
import { newId } from "../../lib/ids";
import { SNIFF_BYTES, sniff } from "../../lib/media/sniff";
import { IMAGE_SIZE_LIMIT, VIDEO_SIZE_LIMIT } from "../media";
import { attachmentOf } from "../post-content";
import type { EntryLookup } from "./directory";
import type { ArchivedMedia, PostPlan } from "./items";
import type { CopiedMedia, Skip } from "./writes";

const RANGE = 1024 * 1024;

/** Subrequests a copy costs: its ranged reads and the put. */
export function copyCost(index: EntryLookup, media: ArchivedMedia[]): number {
  let n = 0;
  for (const m of media) {
    const entry = index.get(m.path);
    if (entry) n += 2 + Math.floor(entry.compressedSize / RANGE);
  }
  return n;
}

/** Bytes a copy reads and checks: the sizes of the files it will not skip for theirs. */
export function copyBytes(index: EntryLookup, media: ArchivedMedia[]): number {
  let n = 0;
  for (const m of media) {
    const size = index.get(m.path)?.size ?? 0;
    if (size <= VIDEO_SIZE_LIMIT) n += size;
  }
  return n;
}

export async function copyMedia(
  ctx: Ctx,
  importId: string,
  zip: Pick<ZipReader, "open">,
  index: EntryLookup,
  plan: PostPlan,
): Promise<{ media: CopiedMedia[]; skips: Skip[] }> {
  const media: CopiedMedia[] = [];
  const skips: Skip[] = [];
  for (const [n, m] of plan.media.entries()) {
    const ref = m.path.slice(0, 2048);
    const skip = (reason: string) => skips.push({ item: plan.item, kind: "media", ref, reason });
    const entry = index.get(m.path);
    if (!entry || entry.isDirectory) {
      skip("the file is not in the archive");
      continue;
    }
    if (entry.size > VIDEO_SIZE_LIMIT) {
      skip(`the file is ${entry.size} bytes, over the ${VIDEO_SIZE_LIMIT} allowed`);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(
        await new Response(zip.open(entry, { maxSize: VIDEO_SIZE_LIMIT })).arrayBuffer(),
      );
    } catch (e) {
      // A source failure may pass on a retry: the chunk fails and runs again.
      if (!(e instanceof ArchiveError) || e.kind === "source") throw e;
      skip(`the file cannot be read: ${e.message}`);
      continue;
    }
    const type = sniff(bytes.subarray(0, SNIFF_BYTES));
    if (!type) {
      skip("the file is not of a type Perch accepts");
      continue;
    }
    if (type.kind === "image" && bytes.length > IMAGE_SIZE_LIMIT) {
      skip(`the image is ${bytes.length} bytes, over the ${IMAGE_SIZE_LIMIT} allowed`);
      continue;
    }
    const key = `media/a${importId}-${plan.item}-${n}/original.${type.ext}`;
    await ctx.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: type.mime } });
    const row = {
      id: newId(),
      statusId: null,
      type: type.kind,
      mimeType: type.mime,
      key,
      size: bytes.length,
      width: type.width ?? m.width,
      height: type.height ?? m.height,
      description: m.description,
      focus: m.focus,
      blurhash: m.blurhash,
      thumbnailKey: null,
      createdAt: plan.published.toISOString(),
    };
    media.push({
      id: row.id,
      type: row.type,
      mime: row.mimeType,
      key,
      size: row.size,
      width: row.width,
      height: row.height,
      description: row.description,
      focus: row.focus,
      blurhash: row.blurhash,
      attachment: attachmentOf(ctx, row),
    });
  }
  return { media, skips };
}
