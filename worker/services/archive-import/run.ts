/**
 * One chunk of an import job: claim the job, read the next items of outbox.json, copy their media,
 * and store them in one batch with the job's next checkpoint (writes.ts). Run by the import queue's
 * consumer, one message per chunk, re-enqueued while work remains; the cron resumes a job whose
 * chunk crashed (its lease ran out).
 *
 * Sizing, for the Free plan (10 ms CPU, 50 subrequests, 50 queries per invocation): a chunk reads at
 * most 20 items and copies media worth at most 30 subrequests (a copy is its ranged reads and a put);
 * items past that wait in the job row (`carry`) for the next chunk. Queries: the claim, the lookup of
 * posts already imported, and the batch of about ten statements, whatever the number of posts.
 * Subrequests besides media: the archive's head, its end records and central directory (one ranged
 * read per MB), and outbox.json (one per MB read).
 */
import { and, eq, inArray, lt, or, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import { archiveImports, archivePosts, type ArchiveSkipKind } from "../../db/schema";
import { ArchiveError } from "../../lib/archive/errors";
import { r2Source } from "../../lib/archive/source";
import { ZipReader, type ZipIndex } from "../../lib/archive/zip/reader";
import { newId } from "../../lib/ids";
import { runAfterOutbox } from "./after-outbox";
import { readItem, type BoostPlan, type PostPlan } from "./items";
import { copyCost, copyMedia } from "./media";
import { outboxChunks } from "./outbox-chunks";
import { chunkStatements, type ChunkWrite, type CopiedMedia, type Skip } from "./writes";

export const CHUNK_ITEMS = 20;
export const CHUNK_MEDIA_SUBREQUESTS = 30;
/** How long a chunk may take before another may start in its place. */
const LEASE_MS = 60_000;
/** Chunks failing in a row at one place before the job is given up. */
const MAX_FAILURES = 5;

/** "waiting": nothing to do before a later time; the cron resumes the job (resumableImports). */
export type ChunkResult = "more" | "done" | "failed" | "busy" | "none" | "waiting";

export interface ChunkOptions {
  maxItems?: number;
  maxMediaSubrequests?: number;
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
  const zip = await ZipReader.open(await r2Source(ctx.env.MEDIA, job.key));
  const index = await zip.index();
  let items = job.carry ?? [];
  let checkpoint = job.checkpoint;
  let done = false;
  if (items.length === 0) {
    const outbox = index.get("outbox.json");
    if (!outbox) throw new ImportError("The archive has no outbox.json: is it a Mastodon archive?");
    const chunk = await outboxChunks(zip, outbox).read(checkpoint, { maxItems, maxOutputBytes: 4 << 20 });
    ({ items, checkpoint, done } = chunk);
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
  const posts: ChunkWrite["posts"] = [];
  const seen = new Set<string>();
  let spent = 0;
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
    if (posts.length > 0 && spent + cost > mediaBudget) {
      stopAt = plan.item;
      break;
    }
    spent += cost;
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
    checkpoint,
    carry,
    done: done && carry === null,
  };
}

async function copyWith(ctx: Ctx, importId: string, zip: ZipReader, index: ZipIndex, plan: PostPlan) {
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
  await ctx.db
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
  if (!fatal) throw e;
  return "failed";
}
