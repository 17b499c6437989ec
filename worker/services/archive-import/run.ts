/**
 * One chunk of an import job: claim the job, read the next items of outbox.json, copy their media,
 * and store them in one batch with the job's next checkpoint (writes.ts). Run by the import queue's
 * consumer, one message per chunk, re-enqueued while work remains; the cron resumes a job whose
 * chunk crashed (its lease ran out).
 *
 * Sizing, for the Free plan (10 ms CPU, 50 subrequests, 50 queries per invocation): a chunk reads at
 * most 20 items or 128 KiB of outbox.json, and copies media worth at most 30 subrequests (a copy is
 * its ranged reads and a put) and 8 MiB; items past that wait in the job row (`carry`) for the next
 * chunk. Queries: the claim, the lookup of posts already imported, the lookup of their media files
 * (directory.ts), and the batch of about ten statements, whatever the number of posts. Subrequests
 * besides media: one ranged read of outbox.json per 256 KiB of it read. The archive's end records are
 * read once, its central directory once over the first chunks (400 entries each), into D1.
 */
import { and, eq, inArray, lt, or, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import { archiveEntries, archiveImports, archivePosts, type ArchiveSkipKind } from "../../db/schema";
import { ArchiveError } from "../../lib/archive/errors";
import { r2Source } from "../../lib/archive/source";
import type { ZipReader } from "../../lib/archive/zip/reader";
import { newId } from "../../lib/ids";
import { runAfterOutbox } from "./after-outbox";
import { convertChunk, type ConvertOptions } from "./convert";
import { readItem, type BoostPlan, type PostPlan } from "./items";
import {
  INDEX_ENTRIES,
  archiveAt,
  entryLookup,
  entryOf,
  indexStep,
  isIndexed,
  readPosition,
  readerCheckpoint,
  startPosition,
  withReader,
  type EntryLookup,
  type IndexedEntry,
} from "./directory";
import { copyBytes, copyCost, copyMedia } from "./media";
import { outboxChunks } from "./outbox-chunks";
import { chunkStatements, type ChunkWrite, type CopiedMedia, type Skip } from "./writes";

export const CHUNK_ITEMS = 20;
export const CHUNK_MEDIA_SUBREQUESTS = 30;
/** Media bytes a chunk copies at most (but one post's, however large): their CRC-32 and copy. */
export const CHUNK_MEDIA_BYTES = 8 * 1024 * 1024;
/** Inflated bytes of outbox.json a chunk reads (5–7 ms per 256 KiB measured, with the parsing). */
export const CHUNK_OUTBOX_BYTES = 128 * 1024;
/** How long a chunk may take before another may start in its place. */
const LEASE_MS = 60_000;
/** Chunks failing in a row at one place before the job is given up. */
const MAX_FAILURES = 5;

/** "waiting": nothing to do before a later time; the cron resumes the job (resumableImports). */
export type ChunkResult = "more" | "done" | "failed" | "busy" | "none" | "waiting";

export interface ChunkOptions extends ConvertOptions {
  maxItems?: number;
  maxMediaSubrequests?: number;
  maxMediaBytes?: number;
  maxOutboxBytes?: number;
  /** Central directory entries an indexing chunk reads. */
  maxIndexEntries?: number;
}

/** Runs the next chunk of a job; "more" when work remains (the caller enqueues the next chunk). */
export async function runImportChunk(
  ctx: Ctx,
  importId: string,
  options: ChunkOptions = {},
): Promise<ChunkResult> {
  const now = new Date();
  const claimed = await ctx.db
    .update(archiveImports)
    .set({ state: "running", leaseUntil: new Date(now.getTime() + LEASE_MS).toISOString() })
    .where(
      and(
        eq(archiveImports.id, importId),
        inArray(archiveImports.state, ["queued", "running"]),
        or(isNull(archiveImports.leaseUntil), lt(archiveImports.leaseUntil, now.toISOString())),
      ),
    )
    .returning();
  const job = claimed[0];
  if (!job) {
    const row = (await ctx.db.select().from(archiveImports).where(eq(archiveImports.id, importId)))[0];
    return row && (row.state === "queued" || row.state === "running") ? "busy" : "none";
  }
  try {
    // A .tar.gz is first turned into a ZIP (convert.ts); from then on the job is a .zip import.
    if (job.phase === "convert") return await convertChunk(ctx, job, options);
    // Past the outbox: actor.json, likes, bookmarks, the relinks, the announcements (after-outbox.ts).
    if (job.phase !== "outbox") return await runAfterOutbox(ctx, job);
    const write = await prepareChunk(ctx, job, options);
    const { owner } = await ctx.instance();
    const [first, ...rest] = chunkStatements(ctx, owner.id, write);
    await d1Of(ctx.db).batch([first as D1PreparedStatement, ...rest]);
    return "more";
  } catch (e) {
    return recordFailure(ctx, importId, job.failures, e);
  }
}

type Job = typeof archiveImports.$inferSelect;

async function prepareChunk(ctx: Ctx, job: Job, options: ChunkOptions): Promise<ChunkWrite> {
  const maxItems = options.maxItems ?? CHUNK_ITEMS;
  const mediaBudget = options.maxMediaSubrequests ?? CHUNK_MEDIA_SUBREQUESTS;
  const mediaBytes = options.maxMediaBytes ?? CHUNK_MEDIA_BYTES;
  // The job's size was checked against the object when its upload completed: no head() needed.
  const source = await r2Source(ctx.env.MEDIA, job.key, job.size);
  let position = job.checkpoint == null ? await startPosition(source) : readPosition(job.checkpoint);
  // The central directory goes into D1 a slice per chunk before the outbox is read (directory.ts); a
  // directory read whole by this chunk serves its lookups from memory, and the chunk goes on.
  let whole: EntryLookup | null = null;
  let entries: IndexedEntry[] | undefined;
  if (!isIndexed(position)) {
    const step = await indexStep(source, position, options.maxIndexEntries ?? INDEX_ENTRIES);
    ({ position, whole } = step);
    entries = step.files;
    if (!whole) return indexOnly(job.id, position, entries);
  }
  const zip = archiveAt(source, position.directory.offset);
  let items = job.carry ?? [];
  let done = false;
  if (items.length === 0) {
    if (!position.outbox) throw new ImportError("The archive has no outbox.json: is it a Mastodon archive?");
    const chunk = await outboxChunks(source, entryOf(position.outbox), position.directory.offset).read(
      readerCheckpoint(position),
      { maxItems, maxOutputBytes: options.maxOutboxBytes ?? CHUNK_OUTBOX_BYTES },
    );
    ({ items, done } = chunk);
    position = withReader(position, chunk.checkpoint);
  }
  const skips: Skip[] = [];
  const plans: PostPlan[] = [];
  const boosts: BoostPlan[] = [];
  for (const { index: i, item } of items) {
    const outcome = await readItem(i, item);
    if (outcome.kind === "post") plans.push(outcome.plan);
    else if (outcome.kind === "boost") boosts.push(outcome.boost);
    else
      skips.push({
        item: i,
        kind: outcome.what as ArchiveSkipKind,
        ref: outcome.ref,
        reason: outcome.reason,
      });
  }
  const known = await alreadyImported(ctx, plans);
  const index =
    whole ??
    (await entryLookup(
      ctx,
      job.id,
      plans.filter((p) => !known.has(p.oldUri)).flatMap((p) => p.media.map((m) => m.path)),
    ));
  const posts: ChunkWrite["posts"] = [];
  const seen = new Set<string>();
  let spent = 0;
  let bytes = 0;
  let stopAt: number | undefined;
  for (const plan of plans) {
    if (known.has(plan.oldUri)) continue;
    if (seen.has(plan.oldUri)) {
      skips.push({
        item: plan.item,
        kind: "post",
        ref: plan.oldUri,
        reason: "the post appears twice in the outbox",
      });
      continue;
    }
    const cost = copyCost(index, plan.media);
    const size = copyBytes(index, plan.media);
    if (posts.length > 0 && (spent + cost > mediaBudget || bytes + size > mediaBytes)) {
      stopAt = plan.item;
      break;
    }
    spent += cost;
    bytes += size;
    seen.add(plan.oldUri);
    const copied = await copyWith(ctx, job.id, zip, index, plan);
    posts.push({ plan, media: copied.media });
    skips.push(...copied.skips);
  }
  // Out of media budget: the items from there on wait in the job row, read already (the checkpoint
  // stays after them), and the next chunk starts with them.
  const carry = stopAt === undefined ? null : items.filter((it) => it.index >= stopAt);
  const before = (item: number) => stopAt === undefined || item < stopAt;
  return {
    importId: job.id,
    token: newId(),
    posts,
    skips: skips.filter((s) => before(s.item)),
    boosts: boosts.filter((b) => before(b.item)),
    items: items.length - (carry?.length ?? 0),
    already: plans.filter((p) => known.has(p.oldUri) && before(p.item)).length,
    checkpoint: position,
    carry,
    done: done && carry === null,
    // Stored for later chunks and the phases after the outbox (actor.json, likes, bookmarks), which
    // find their files there; deleted with the archive (after-outbox.ts deleteArchive).
    entries,
  };
}

/** A chunk that only indexed part of the directory. */
const indexOnly = (importId: string, checkpoint: unknown, entries: IndexedEntry[]): ChunkWrite => ({
  importId,
  token: newId(),
  posts: [],
  skips: [],
  items: 0,
  already: 0,
  checkpoint,
  carry: null,
  done: false,
  entries,
});

async function copyWith(
  ctx: Ctx,
  importId: string,
  zip: Pick<ZipReader, "open">,
  index: EntryLookup,
  plan: PostPlan,
) {
  if (plan.media.length === 0) return { media: [] as CopiedMedia[], skips: [] as Skip[] };
  return copyMedia(ctx, importId, zip, index, plan);
}

/** The old ids among these that an earlier chunk or an earlier import already made statuses of. */
async function alreadyImported(ctx: Ctx, plans: PostPlan[]): Promise<Set<string>> {
  if (plans.length === 0) return new Set();
  const rows = await ctx.db
    .select({ oldUri: archivePosts.oldUri })
    .from(archivePosts)
    .where(inArray(archivePosts.oldUri, [...new Set(plans.map((p) => p.oldUri))]));
  return new Set(rows.map((r) => r.oldUri));
}

/** A failure that no retry can help: the job stops with it. */
export class ImportError extends Error {
  override name = "ImportError";
}

const permanent = (e: unknown) =>
  e instanceof ImportError || (e instanceof ArchiveError && e.kind !== "source");

async function recordFailure(ctx: Ctx, importId: string, failures: number, e: unknown): Promise<ChunkResult> {
  const fatal = permanent(e) || failures + 1 >= MAX_FAILURES;
  const message = e instanceof Error ? e.message : String(e);
  if (!fatal) console.error(`import ${importId}: chunk failed, to be retried`, e);
  const update = ctx.db
    .update(archiveImports)
    .set({
      failures: sql`${archiveImports.failures} + 1`,
      leaseUntil: null,
      updatedAt: new Date().toISOString(),
      ...(fatal
        ? { state: "failed" as const, error: message.slice(0, 2000), finishedAt: new Date().toISOString() }
        : {}),
    })
    .where(eq(archiveImports.id, importId));
  // A failed job keeps no directory rows (directory.ts).
  if (fatal)
    await ctx.db.batch([update, ctx.db.delete(archiveEntries).where(eq(archiveEntries.importId, importId))]);
  else await update;
  if (!fatal) throw e;
  return "failed";
}
