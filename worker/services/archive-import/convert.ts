/**
 * The first phase of a .tar.gz import (Mastodon's older exports): the archive is turned into a ZIP in
 * R2, `imports/<id>.zip`, a piece per chunk, after which the job goes on exactly as a .zip import
 * (phase "outbox" and after): outbox, media and everything else read through ZipReader and its index, one code
 * path for both kinds of archive.
 *
 * A chunk does one of three things, decided by the saved state:
 *   - upload the next 5 MiB part of the ZIP from the staged segments, when one is ready (staged.ts);
 *   - else walk about `CONVERT_BYTES` more of the tar (lib/archive/tar/to-zip.ts) and stage the ZIP
 *     bytes that made;
 *   - else (walked to the end, every part uploaded) complete the ZIP, delete the segments and the
 *     .tar.gz, and switch the job to the import phase with the ZIP as its archive.
 * Then it saves the state in the job row, with the members left out (links, devices) as skips of the
 * archive as a whole (item -1). Every step can be repeated from the saved state with the same result
 * (see staged.ts and to-zip.ts), so a crash or a deploy between a step and its save only repeats it.
 *
 * Sizing, for the Free plan: 256 KiB of inflated tar a chunk is about 3 ms of CPU when warm (measured
 * in Node: inflating, the entry CRC-32, the ~33 KB checkpoint in and out); subrequests: the archive's
 * head, one or two ranged reads, and a put (and get) per stream; a part is at most ~30 ranged gets and
 * its upload. A failure of the archive itself (truncated, damaged, a name that escapes it) stops the
 * job at once and throws the staged bytes away: nothing of such an archive is imported.
 */
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Ctx } from "../../context";
import { archiveImports } from "../../db/schema";
import { ArchiveError } from "../../lib/archive/errors";
import { r2Source } from "../../lib/archive/source";
import { StagedObject, StagedState, type StagedOptions } from "../../lib/archive/staged";
import { initialToZipState, tarGzToZipPiece, ToZipState } from "../../lib/archive/tar/to-zip";
import type { ImportJob } from "./jobs";

export const CONVERT_BYTES = 256 * 1024;

const ConvertState = z.object({ v: z.literal(1), zip: ToZipState, staged: StagedState });
type ConvertState = z.infer<typeof ConvertState>;

export interface ConvertOptions extends StagedOptions {
  /** Inflated tar bytes walked per chunk; default CONVERT_BYTES. */
  convertBytes?: number;
}

export const zipKeyOf = (id: string) => `imports/${id}.zip`;
const segmentPrefix = (id: string) => `imports/${id}.zip-staged/`;

/** Runs one conversion step of a job in the "convert" phase; "more" always (the import follows). */
export async function convertChunk(ctx: Ctx, job: ImportJob, options: ConvertOptions = {}): Promise<"more"> {
  const bucket = ctx.env.MEDIA;
  const key = zipKeyOf(job.id);
  let state: ConvertState;
  if (job.convert == null) {
    state = {
      v: 1,
      zip: initialToZipState(),
      staged: await StagedObject.begin(bucket, key, 2, "application/zip"),
    };
  } else {
    const parsed = ConvertState.safeParse(job.convert);
    if (!parsed.success) throw new ArchiveError("bad_checkpoint", "The conversion's saved state is damaged");
    state = parsed.data;
  }
  const staged = new StagedObject(bucket, key, segmentPrefix(job.id), state.staged, options);
  try {
    if (staged.partReady) {
      await staged.uploadNextPart();
      await save(ctx, job, state, []);
      return "more";
    }
    if (!state.zip.ended) {
      const source = await r2Source(bucket, job.key);
      const piece = await tarGzToZipPiece(source, state.zip, options.convertBytes ?? CONVERT_BYTES);
      await staged.append(0, piece.entries);
      await staged.append(1, piece.directory);
      if (piece.state.ended) staged.seal();
      state.zip = piece.state;
      await save(ctx, job, state, piece.skipped);
      return "more";
    }
  } catch (e) {
    throw await failed(staged, e);
  }
  // Walked and uploaded: the ZIP takes the .tar.gz's place.
  const zip = await staged.complete();
  await bucket.delete(job.key);
  await ctx.db
    .update(archiveImports)
    .set({
      phase: "outbox",
      key,
      // From here the job's archive is the ZIP, and its chunks read it knowing its size.
      size: zip.size,
      convert: null,
      convertedBytes: job.size,
      checkpoint: null,
      carry: null,
      leaseUntil: null,
      failures: 0,
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(archiveImports.id, job.id), eq(archiveImports.phase, "convert")));
  return "more";
}

/**
 * The skips of one step, then its state. The skips go first and are idempotent (ON CONFLICT DO
 * NOTHING), so a crash between the two repeats the step and adds nothing twice.
 */
async function save(
  ctx: Ctx,
  job: ImportJob,
  state: ConvertState,
  skipped: { name: string; reason: string }[],
) {
  if (skipped.length > 0) {
    // One statement whatever the number of members (D1 binds at most 100 parameters to one).
    const rows = skipped.map((s) => ({ ref: s.name.slice(0, 2048), reason: s.reason }));
    await ctx.db.run(sql`INSERT INTO archive_skips (import_id, item, kind, ref, reason)
      SELECT ${job.id}, -1, 'item', json_extract(value, '$.ref'), json_extract(value, '$.reason')
      FROM json_each(${JSON.stringify(rows)}) WHERE 1 ON CONFLICT DO NOTHING`);
  }
  await ctx.db
    .update(archiveImports)
    .set({
      convert: state,
      convertedBytes: state.zip.walked,
      leaseUntil: null,
      failures: 0,
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(archiveImports.id, job.id), eq(archiveImports.phase, "convert")));
}

/**
 * A failure of the archive itself ends the job (run.ts records it): its staged bytes are thrown away
 * and the message says it was the .tar.gz. Anything else (R2, D1) is left to be retried as it is.
 */
async function failed(staged: StagedObject, e: unknown): Promise<unknown> {
  if (!(e instanceof ArchiveError) || e.kind === "source") return e;
  await staged.discard();
  return new ArchiveError(e.kind, `The .tar.gz archive cannot be read: ${e.message}`);
}
