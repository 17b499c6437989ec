/**
 * One chunk of an archive export: claim the job, resume the ZIP writer from its stored state, write
 * the next part of the archive, save the writer's new state (R2) and the job's (D1, only while the
 * chunk still holds its lease), and forget the old state. Run by the import queue's consumer, one
 * message per chunk, re-enqueued while work remains; the cron resumes a job whose chunk crashed.
 *
 * The archive's order, each a phase: actor.json (deflated) with avatar and header; every media file
 * of the owner's posts (stored, streamed from R2 straight into the upload's parts); outbox.json, an
 * entry kept open across chunks (stored: CompressionStream cannot be resumed in another invocation);
 * likes.json and bookmarks.json likewise; then the central directory. Every visibility is exported:
 * the archive is the owner's own. Posts made after the export started (`snapshot`) are not in it.
 *
 * Sizing, for the Free plan (50 subrequests, 50 queries, ~10 ms CPU an invocation): a media page is
 * at most 20 posts, and a chunk reads at most 3 MiB of media (the CRC-32 of those bytes is the part
 * of its CPU that grows with them) and spends at most 36 subrequests on them (a read, plus one upload
 * per 5 MiB part filled); a larger file is copied in ranged reads over several chunks, its entry left
 * open in between. An outbox page is 40 posts, a likes or bookmarks page 500 URIs. Besides those, a
 * chunk costs the writer state object's read, write and delete and the next message. Queries: the
 * claim, the instance, two or three a page, the commit (test/services/archive-export/budget.test.ts
 * counts them). The avatar and header (up to 8 MiB each) are still read whole in the first chunk.
 */
import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, or, lt, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import type { Status } from "../../db/client";
import {
  archiveExports,
  bookmarks,
  favourites,
  mediaAttachments,
  statuses,
  type ArchiveExportPhase,
  type ExportSkip,
} from "../../db/schema";
import { ArchiveError } from "../../lib/archive/errors";
import { forgetState, ResumableZip, type ResumableZipState } from "../../lib/archive/zip/resumable-writer";
import { mediaUrl } from "../../api/entities/media";
import { dropOlderExports, exportPrefix, type ExportJob } from "./jobs";
import {
  COLLECTION_END,
  collectionStart,
  exportedActor,
  exportedAnnounce,
  exportedCreate,
  extensionOf,
  mediaPath,
} from "./render";

const LEASE_MS = 60_000;
const MAX_FAILURES = 5;
const MAX_SKIPS = 1000;

export interface ExportChunkOptions {
  mediaPage?: number;
  mediaSubrequests?: number;
  /** Media bytes a chunk reads at most (default MEDIA_BYTES_PER_CHUNK). */
  mediaBytes?: number;
  outboxPage?: number;
  collectionPage?: number;
  /** For tests: throw after the chunk wrote its parts, before its state is stored (a crash). */
  crashBeforeCommit?: boolean;
}

export type ExportChunkResult = "more" | "done" | "failed" | "busy" | "none";

interface Progress {
  phase: ArchiveExportPhase;
  cursor: string | null;
  statusesTotal: number;
  statusesDone: number;
  mediaDone: number;
  skips: ExportSkip[];
}

/** Runs the next chunk of an export; "more" when work remains (the caller enqueues the next one). */
export async function runExportChunk(
  ctx: Ctx,
  exportId: string,
  options: ExportChunkOptions = {},
): Promise<ExportChunkResult> {
  const now = new Date();
  const lease = new Date(now.getTime() + LEASE_MS).toISOString();
  const job = (
    await ctx.db
      .update(archiveExports)
      .set({ state: "running", leaseUntil: lease })
      .where(
        and(
          eq(archiveExports.id, exportId),
          inArray(archiveExports.state, ["queued", "running"]),
          or(isNull(archiveExports.leaseUntil), lt(archiveExports.leaseUntil, now.toISOString())),
        ),
      )
      .returning()
  )[0];
  if (!job) {
    const row = (await ctx.db.select().from(archiveExports).where(eq(archiveExports.id, exportId)))[0];
    return row && (row.state === "queued" || row.state === "running") ? "busy" : "none";
  }
  try {
    return await chunk(ctx, job, lease, options);
  } catch (e) {
    return recordFailure(ctx, job, e);
  }
}

async function chunk(ctx: Ctx, job: ExportJob, lease: string, options: ExportChunkOptions) {
  const state = job.writer as ResumableZipState;
  const prefix = exportPrefix(job.id);
  const zip = await ResumableZip.resume(
    ctx.env.MEDIA,
    { key: job.key, uploadId: job.uploadId, prefix },
    state,
  );
  const p: Progress = {
    phase: job.phase,
    cursor: job.cursor,
    statusesTotal: job.statusesTotal,
    statusesDone: job.statusesDone,
    mediaDone: job.mediaDone,
    skips: [...job.skips],
  };
  // The upload is completed in a chunk of its own, so a crash after it is seen as such (finishStep).
  if (p.phase === "finish") return finishStep(ctx, zip, job, lease, state, p, options);
  const { owner } = await ctx.instance();
  let full = false;
  const writing = (phase: ArchiveExportPhase) => phase !== "finish" && phase !== "done";
  while (!full && writing(p.phase)) {
    if (p.phase === "actor") await actorStep(ctx, zip, p);
    else if (p.phase === "media") full = await mediaStep(ctx, zip, job, owner.id, p, options);
    else if (p.phase === "outbox") full = await outboxStep(ctx, zip, job, owner.id, p, options);
    else full = await collectionStep(ctx, zip, owner.id, p, options);
  }
  const next = await zip.checkpoint();
  if (options.crashBeforeCommit) throw new Error("crash before commit (test)");
  await commit(ctx, job.id, lease, p, { writer: next });
  await forgetState(ctx.env.MEDIA, prefix, state);
  return "more";
}

/** actor.json, with the avatar and header files it names. */
async function actorStep(ctx: Ctx, zip: ResumableZip, p: Progress) {
  const instance = await ctx.instance();
  const { owner } = instance;
  const prefix = mediaUrl(ctx.config, "");
  const files: { avatar: string | null; header: string | null } = { avatar: null, header: null };
  for (const kind of ["avatar", "header"] as const) {
    const url = kind === "avatar" ? owner.avatarUrl : owner.headerUrl;
    if (!url) continue;
    const name = `${kind}${extensionOf(url)}`;
    if (!url.startsWith(prefix)) {
      addSkip(p, url, `the ${kind} is not stored on this server`);
      continue;
    }
    const object = await ctx.env.MEDIA.get(url.slice(prefix.length));
    if (!object) {
      addSkip(p, url, `the ${kind} file is missing from storage`);
      continue;
    }
    await zip.add(name, object.body, { method: "store", modified: new Date(object.uploaded) });
    files[kind] = name;
  }
  const actor = exportedActor(ctx.config, instance, files);
  await zip.add("actor.json", new TextEncoder().encode(JSON.stringify(actor)), { method: "deflate" });
  p.phase = "media";
  p.cursor = null;
}

/** The owner's posts from the cursor on, oldest first, within the export's snapshot. */
async function postsPage(ctx: Ctx, job: ExportJob, ownerId: string, cursor: string | null, limit: number) {
  return ctx.db
    .select()
    .from(statuses)
    .where(
      and(
        eq(statuses.accountId, ownerId),
        eq(statuses.local, true),
        isNull(statuses.deletedAt),
        lte(statuses.id, job.snapshot),
        cursor ? gt(statuses.id, cursor) : undefined,
      ),
    )
    .orderBy(asc(statuses.id))
    .limit(limit);
}

/**
 * Where the media phase is (its `cursor`, JSON): after which post every file is written, and the file
 * being copied when a chunk's byte budget ran out in the middle of it (that entry is left open in the
 * writer; the next chunk goes on reading the file from `offset`).
 */
interface MediaCursor {
  after: string | null;
  file: { status: string; index: number; offset: number; size: number } | null;
}

function mediaCursor(cursor: string | null): MediaCursor {
  if (!cursor) return { after: null, file: null };
  return JSON.parse(cursor) as MediaCursor;
}

/** A file read in one chunk at most: its CRC-32 is what costs CPU (a few ms per MiB). */
export const MEDIA_BYTES_PER_CHUNK = 3 * 1024 * 1024;

/**
 * Copies the media files of the next posts, each streamed from R2 into the upload; a file larger
 * than what is left of the chunk's byte budget is copied in ranges over several chunks, as an entry
 * left open. True when the chunk's budget is spent.
 */
async function mediaStep(
  ctx: Ctx,
  zip: ResumableZip,
  job: ExportJob,
  ownerId: string,
  p: Progress,
  options: ExportChunkOptions,
): Promise<boolean> {
  const pageSize = options.mediaPage ?? 20;
  const partSize = (job.writer as ResumableZipState).partSize;
  let subrequests = options.mediaSubrequests ?? 36;
  let bytes = options.mediaBytes ?? MEDIA_BYTES_PER_CHUNK;
  const at = mediaCursor(p.cursor);
  const save = (file: MediaCursor["file"]) => {
    p.cursor = JSON.stringify({ after: at.after, file } satisfies MediaCursor);
    return true;
  };
  const page = await postsPage(ctx, job, ownerId, at.after, pageSize);
  const ids = page.flatMap((s) => s.attachments.map((a) => a.mediaId).filter((id): id is string => !!id));
  const rows =
    ids.length === 0
      ? []
      : await ctx.db
          .select()
          .from(mediaAttachments)
          .where(sql`${mediaAttachments.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const status of page) {
    const media = status.attachments.filter((a) => a.mediaId);
    const resuming = at.file?.status === status.id ? at.file : null;
    for (let index = resuming?.index ?? 0; index < media.length; index++) {
      const a = media[index] as (typeof media)[number];
      const id = a.mediaId as string;
      const row = byId.get(id);
      const path = mediaPath(id, a.url);
      let offset = resuming && index === resuming.index ? resuming.offset : 0;
      let size = resuming && index === resuming.index ? resuming.size : (row?.size ?? 0);
      const open = zip.openEntry === path;
      if (!open) {
        if (!row) {
          addSkip(p, path, `the media of post ${status.id} is no longer stored`);
          continue;
        }
        // Each range costs its read and the parts it fills.
        if (bytes <= 0 || subrequests < 2 + Math.ceil(Math.min(size, bytes) / partSize))
          return save({ status: status.id, index, offset: 0, size });
        if (size <= bytes) {
          subrequests -= 1;
          const object = await ctx.env.MEDIA.get(row.key);
          if (!object) {
            addSkip(p, path, `the file of post ${status.id} is missing from storage`);
            continue;
          }
          await zip.add(path, object.body, { method: "store", modified: new Date(row.createdAt) });
          bytes -= object.size;
          subrequests -= Math.ceil(object.size / partSize);
          p.mediaDone += 1;
          continue;
        }
        subrequests -= 1;
        const head = await ctx.env.MEDIA.head(row.key);
        if (!head) {
          addSkip(p, path, `the file of post ${status.id} is missing from storage`);
          continue;
        }
        size = head.size;
        await zip.begin(path, new Date(row.createdAt));
      }
      const key = row?.key;
      while (offset < size) {
        const length = Math.min(bytes, size - offset);
        if (length <= 0 || subrequests < 2 + Math.ceil(length / partSize))
          return save({ status: status.id, index, offset, size });
        const object = key ? await ctx.env.MEDIA.get(key, { range: { offset, length } }) : null;
        // The file went while it was being copied (its post was deleted): the entry cannot be completed.
        if (!object || object.size !== size)
          throw new ExportError(`The file ${path} changed or went during the export: please export again`);
        const reader = object.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await zip.append(value);
        }
        offset += length;
        bytes -= length;
        subrequests -= 1 + Math.ceil(length / partSize);
      }
      await zip.end();
      p.mediaDone += 1;
    }
    at.after = status.id;
    at.file = null;
    save(null);
  }
  if (page.length === pageSize) return true;
  p.phase = "outbox";
  p.cursor = null;
  return false;
}

/** Writes the next posts into outbox.json; true when the chunk's page is full. */
async function outboxStep(
  ctx: Ctx,
  zip: ResumableZip,
  job: ExportJob,
  ownerId: string,
  p: Progress,
  options: ExportChunkOptions,
): Promise<boolean> {
  const pageSize = options.outboxPage ?? 40;
  const enc = new TextEncoder();
  if (zip.openEntry !== "outbox.json") {
    const [counted] = await ctx.db
      .select({ n: sql<number>`count(*)` })
      .from(statuses)
      .where(
        and(
          eq(statuses.accountId, ownerId),
          eq(statuses.local, true),
          isNull(statuses.deletedAt),
          lte(statuses.id, job.snapshot),
        ),
      );
    p.statusesTotal = counted?.n ?? 0;
    await zip.begin("outbox.json");
    await zip.append(enc.encode(collectionStart("outbox.json", p.statusesTotal)));
  }
  const page = await postsPage(ctx, job, ownerId, p.cursor, pageSize);
  const boosted = await boostedUris(ctx, page);
  const items: string[] = [];
  for (const status of page) {
    p.cursor = status.id;
    if (status.reblogOfId) {
      const uri = boosted.get(status.reblogOfId);
      if (!uri) {
        addSkip(p, status.uri, "the boosted post is no longer stored");
        continue;
      }
      items.push(JSON.stringify(exportedAnnounce(ctx.config, status, uri)));
    } else items.push(JSON.stringify(exportedCreate(ctx.config, status)));
  }
  if (items.length > 0) {
    await zip.append(enc.encode((p.statusesDone > 0 ? "," : "") + items.join(",")));
    p.statusesDone += items.length;
  }
  if (page.length === pageSize) return true;
  await zip.append(enc.encode(COLLECTION_END));
  await zip.end();
  p.phase = "likes";
  p.cursor = null;
  return false;
}

async function boostedUris(ctx: Ctx, page: Status[]): Promise<Map<string, string>> {
  const ids = page.map((s) => s.reblogOfId).filter((id): id is string => !!id);
  if (ids.length === 0) return new Map();
  const rows = await ctx.db
    .select({ id: statuses.id, uri: statuses.uri })
    .from(statuses)
    .where(inArray(statuses.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r.uri]));
}

/** likes.json (the owner's favourites, not emoji reactions) or bookmarks.json: the posts' URIs. */
async function collectionStep(
  ctx: Ctx,
  zip: ResumableZip,
  ownerId: string,
  p: Progress,
  options: ExportChunkOptions,
): Promise<boolean> {
  const pageSize = options.collectionPage ?? 500;
  const name = p.phase === "likes" ? "likes.json" : "bookmarks.json";
  const enc = new TextEncoder();
  if (zip.openEntry !== name) {
    await zip.begin(name);
    await zip.append(enc.encode(collectionStart(name)));
  }
  const rows =
    p.phase === "likes"
      ? await ctx.db
          .select({ id: favourites.id, uri: statuses.uri })
          .from(favourites)
          .innerJoin(statuses, eq(statuses.id, favourites.statusId))
          .where(
            and(
              eq(favourites.accountId, ownerId),
              isNull(favourites.emoji),
              p.cursor ? gt(favourites.id, p.cursor) : undefined,
            ),
          )
          .orderBy(asc(favourites.id))
          .limit(pageSize)
      : await ctx.db
          .select({ id: bookmarks.id, uri: statuses.uri })
          .from(bookmarks)
          .innerJoin(statuses, eq(statuses.id, bookmarks.statusId))
          .where(and(isNotNull(bookmarks.id), p.cursor ? gt(bookmarks.id, p.cursor) : undefined))
          .orderBy(asc(bookmarks.id))
          .limit(pageSize);
  if (rows.length > 0) {
    const first = p.cursor === null;
    await zip.append(enc.encode((first ? "" : ",") + rows.map((r) => JSON.stringify(r.uri)).join(",")));
    p.cursor = rows[rows.length - 1]?.id ?? p.cursor;
  }
  if (rows.length === pageSize) return true;
  await zip.append(enc.encode(COLLECTION_END));
  await zip.end();
  p.phase = p.phase === "likes" ? "bookmarks" : "finish";
  p.cursor = null;
  return false;
}

/** The central directory and the upload's completion; then the previous export goes. */
async function finishStep(
  ctx: Ctx,
  zip: ResumableZip,
  job: ExportJob,
  lease: string,
  state: ResumableZipState,
  p: Progress,
  options: ExportChunkOptions,
): Promise<ExportChunkResult> {
  // A chunk that completed the upload and crashed before storing that finds the archive there.
  const existing = await ctx.env.MEDIA.head(job.key);
  const size = existing ? existing.size : (await zip.finish()).size;
  if (options.crashBeforeCommit) throw new Error("crash before commit (test)");
  p.phase = "done";
  await commit(ctx, job.id, lease, p, { size, done: true });
  await forgetState(ctx.env.MEDIA, exportPrefix(job.id), state);
  await dropOlderExports(ctx, job.id);
  return "done";
}

function addSkip(p: Progress, ref: string, reason: string) {
  if (p.skips.length < MAX_SKIPS) p.skips.push({ ref: ref.slice(0, 2048), reason });
  else if (p.skips.length === MAX_SKIPS)
    p.skips.push({ ref: "…", reason: `more than ${MAX_SKIPS} skips: the rest are not listed` });
}

/** Stores the chunk's progress, only while the chunk still holds its lease (else it throws). */
async function commit(
  ctx: Ctx,
  id: string,
  lease: string,
  p: Progress,
  extra: { writer?: ResumableZipState; size?: number; done?: boolean },
) {
  const at = new Date().toISOString();
  const updated = await ctx.db
    .update(archiveExports)
    .set({
      phase: p.phase,
      cursor: p.cursor,
      statusesTotal: p.statusesTotal,
      statusesDone: p.statusesDone,
      mediaDone: p.mediaDone,
      skips: p.skips,
      leaseUntil: null,
      failures: 0,
      updatedAt: at,
      ...(extra.writer ? { writer: extra.writer } : {}),
      ...(extra.done ? { state: "done" as const, size: extra.size ?? null, finishedAt: at } : {}),
    })
    .where(and(eq(archiveExports.id, id), eq(archiveExports.leaseUntil, lease)))
    .returning({ id: archiveExports.id });
  if (updated.length === 0)
    throw new Error(`export ${id}: the chunk lost its lease before it could store its work`);
}

/** A failure no retry can help: the export stops with it. */
export class ExportError extends Error {
  override name = "ExportError";
}

const permanent = (e: unknown) =>
  e instanceof ExportError || (e instanceof ArchiveError && e.kind !== "source");

async function recordFailure(ctx: Ctx, job: ExportJob, e: unknown): Promise<ExportChunkResult> {
  const fatal = permanent(e) || job.failures + 1 >= MAX_FAILURES;
  const message = e instanceof Error ? e.message : String(e);
  const at = new Date().toISOString();
  await ctx.db
    .update(archiveExports)
    .set({
      failures: sql`${archiveExports.failures} + 1`,
      leaseUntil: null,
      updatedAt: at,
      ...(fatal ? { state: "failed" as const, error: message.slice(0, 2000), finishedAt: at } : {}),
    })
    .where(eq(archiveExports.id, job.id));
  if (fatal) {
    await ctx.env.MEDIA.resumeMultipartUpload(job.key, job.uploadId)
      .abort()
      .catch(() => undefined);
    return "failed";
  }
  throw e;
}
