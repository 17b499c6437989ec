/**
 * An import job's phases after its outbox, one step per queue message like the outbox's chunks:
 * - actor: actor.json read, the old profile kept on the job and its images staged (actor.ts);
 * - likes, bookmarks: likes.json and bookmarks.json (OrderedCollections of URIs, possibly a few MB)
 *   read in chunks through the same chunk source as the outbox, each URI recorded as a relink;
 *   the archive is then no longer needed and is deleted from R2 (the job and its report stay);
 * - relinks: a few boosts, likes and bookmarks resolved per step (relinks.ts);
 * - announce: when the owner asked for it, the imported public posts delivered (announce.ts).
 * Each step ends with the job row's update (lease released, failures reset): a step that crashes
 * runs again from where the row says, and every step is idempotent.
 */
import { eq } from "drizzle-orm";
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import { archiveImports, type ArchiveImportPhase, type ArchiveRelinkKind } from "../../db/schema";
import { IdRef } from "../../federation/schemas";
import { r2Source } from "../../lib/archive/source";
import { readArchivedProfile } from "./actor";
import { archiveAt, deleteEntries, entryLookup, readPosition } from "./directory";
import { announceStep } from "./announce";
import { outboxChunks } from "./outbox-chunks";
import { resolveRelinks } from "./relinks";
import type { ChunkResult } from "./run";
import type { Skip } from "./writes";

/** URIs of likes.json or bookmarks.json read per step: one INSERT of a JSON parameter stores them. */
export const LIST_CHUNK_ITEMS = 500;

type Job = typeof archiveImports.$inferSelect;

export async function runAfterOutbox(ctx: Ctx, job: Job): Promise<ChunkResult> {
  switch (job.phase) {
    case "actor":
      return actorStep(ctx, job);
    case "likes":
    case "bookmarks":
      return listStep(ctx, job, job.phase === "likes" ? "like" : "bookmark");
    case "relinks": {
      const left = await resolveRelinks(ctx, job);
      if (left === "more") return release(ctx, job.id);
      // Only relinks to be tried later remain: no message until the cron resumes the job.
      if (left === "waiting") {
        await release(ctx, job.id);
        return "waiting";
      }
      return job.announce ? advance(ctx, job.id, "announce") : finish(ctx, job.id);
    }
    case "announce":
      // The owner may have turned the option off since.
      if (job.announce && (await announceStep(ctx, job)) === "more") return "more";
      return finish(ctx, job.id);
    default:
      throw new Error(`import ${job.id}: unknown phase ${String(job.phase)}`);
  }
}

/**
 * The archive where the outbox left it: its size and directory known from the job's position, its
 * files looked up in the directory the outbox's chunks indexed (archive_entries), read no more.
 */
async function openArchive(ctx: Ctx, job: Job) {
  const position = readPosition(job.checkpoint);
  const source = await r2Source(ctx.env.MEDIA, job.key, job.size);
  return {
    source,
    dataLimit: position.directory.offset,
    zip: archiveAt(source, position.directory.offset),
    lookup: (paths: string[]) => entryLookup(ctx, job.id, paths),
  };
}

async function actorStep(ctx: Ctx, job: Job): Promise<ChunkResult> {
  const { zip, lookup } = await openArchive(ctx, job);
  const { profile, skips } = await readArchivedProfile(ctx, job.id, zip, lookup);
  const d1 = d1Of(ctx.db);
  await d1.batch([
    ...skipStatements(ctx, job.id, skips),
    d1
      .prepare(
        `UPDATE archive_imports SET profile = ?1, profile_state = ?2, phase = 'likes', phase_checkpoint = NULL,
          lease_until = NULL, failures = 0, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?3`,
      )
      .bind(profile ? JSON.stringify(profile) : null, profile ? "pending" : null, job.id),
  ]);
  return "more";
}

/** The next chunk of likes.json or bookmarks.json, each valid URI a relink, each other item a skip. */
async function listStep(ctx: Ctx, job: Job, kind: Exclude<ArchiveRelinkKind, "boost">): Promise<ChunkResult> {
  const next: ArchiveImportPhase = kind === "like" ? "bookmarks" : "relinks";
  const { source, dataLimit, lookup } = await openArchive(ctx, job);
  const name = kind === "like" ? "likes.json" : "bookmarks.json";
  const entry = (await lookup([name])).get(name);
  const relinks: { item: number; uri: string }[] = [];
  const skips: Skip[] = [];
  let done = true;
  let checkpoint: string | null = null;
  if (entry) {
    // The reader's checkpoint is kept as base64 in phase_checkpoint, as the outbox's in the position.
    const stored = typeof job.phaseCheckpoint === "string" ? job.phaseCheckpoint : null;
    const chunk = await outboxChunks(source, entry, dataLimit).read(stored ? fromBase64(stored) : null, {
      maxItems: LIST_CHUNK_ITEMS,
      maxOutputBytes: 1 << 20,
    });
    for (const { index: i, item } of chunk.items) {
      const uri = IdRef.safeParse(item);
      if (uri.success) relinks.push({ item: i, uri: uri.data });
      else
        skips.push({
          item: i,
          kind,
          ref: typeof item === "string" ? item.slice(0, 2048) : `#${i}`,
          reason: "not an http(s) URI",
        });
    }
    done = chunk.done;
    checkpoint = toBase64(chunk.checkpoint);
  }
  const d1 = d1Of(ctx.db);
  await d1.batch([
    ...(relinks.length > 0
      ? [
          d1
            .prepare(
              `INSERT INTO archive_relinks (import_id, kind, uri, item)
              SELECT ?2, ?3, json_extract(value, '$.uri'), json_extract(value, '$.item')
              FROM json_each(?1) WHERE 1 ON CONFLICT DO NOTHING`, // a URI listed twice: one relink
            )
            .bind(JSON.stringify(relinks), job.id, kind),
        ]
      : []),
    ...skipStatements(ctx, job.id, skips),
    d1
      .prepare(
        `UPDATE archive_imports SET phase = ?1, phase_checkpoint = ?2, lease_until = NULL, failures = 0,
          updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?3`,
      )
      .bind(done ? next : job.phase, done ? null : JSON.stringify(checkpoint ?? null), job.id),
  ]);
  // Nothing after this reads the archive: the profile's images are staged, the lists recorded.
  if (done && next === "relinks") await deleteArchive(ctx, job);
  return "more";
}

/** Removes the uploaded archive from R2, and its directory from D1; the job row and its report stay. */
export async function deleteArchive(ctx: Ctx, job: Pick<Job, "id" | "key">): Promise<void> {
  await ctx.env.MEDIA.delete(job.key);
  const d1 = d1Of(ctx.db);
  await d1.batch([
    d1
      .prepare(
        `UPDATE archive_imports SET archive_deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1`,
      )
      .bind(job.id),
    deleteEntries(ctx, job.id),
  ]);
}

const toBase64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

function skipStatements(ctx: Ctx, importId: string, skips: Skip[]): D1PreparedStatement[] {
  if (skips.length === 0) return [];
  return [
    d1Of(ctx.db)
      .prepare(
        `INSERT INTO archive_skips (import_id, item, kind, ref, reason)
        SELECT ?2, json_extract(value, '$.item'), json_extract(value, '$.kind'), json_extract(value, '$.ref'),
          json_extract(value, '$.reason')
        FROM json_each(?1) WHERE 1 ON CONFLICT DO NOTHING`,
      )
      .bind(JSON.stringify(skips), importId),
  ];
}

async function release(ctx: Ctx, id: string): Promise<ChunkResult> {
  await ctx.db
    .update(archiveImports)
    .set({ leaseUntil: null, failures: 0, updatedAt: new Date().toISOString() })
    .where(eq(archiveImports.id, id));
  return "more";
}

async function advance(ctx: Ctx, id: string, phase: ArchiveImportPhase): Promise<ChunkResult> {
  await ctx.db
    .update(archiveImports)
    .set({ phase, phaseCheckpoint: null, leaseUntil: null, failures: 0, updatedAt: new Date().toISOString() })
    .where(eq(archiveImports.id, id));
  return "more";
}

async function finish(ctx: Ctx, id: string): Promise<ChunkResult> {
  const at = new Date().toISOString();
  await ctx.db
    .update(archiveImports)
    .set({ state: "done", leaseUntil: null, failures: 0, updatedAt: at, finishedAt: at })
    .where(eq(archiveImports.id, id));
  return "done";
}
