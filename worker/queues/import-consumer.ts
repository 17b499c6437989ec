import type { Ctx } from "../context";
import type { Bindings } from "../env";
import { resumableImports } from "../services/archive-import/jobs";
import { runImportChunk } from "../services/archive-import/run";
import { startChain } from "../services/imports/jobs";
import { processImportChunk } from "../services/imports/process";
import { consumeExportChunk } from "../services/archive-export/queue";
import { ctxForBatch } from "./ctx";
import { ImportMessage } from "./messages";

/**
 * The import queue (wrangler.toml: one message a batch, so a chunk has the invocation's whole
 * budget), for CSV imports and archive imports alike. Each message runs one chunk of its job and,
 * while work remains, sends the next message, so a job moves on by itself at one message (3 Queue
 * operations) per chunk.
 * - CSV: a job another invocation holds is looked at again two minutes later (five tries outlast a
 *   lease); a message that crashes is retried by the queue and finds the job busy until the lease it
 *   left lapses. A chain that dies anyway is restarted by the cron (restartStalledImports).
 * - Archive: a chunk that fails is retried 30 seconds later; the job row counts failures and gives up
 *   after five; a job left waiting is resumed by the cron (resumeImports).
 * A message that does not fit the contract is dropped with a log line: every job's state is in D1.
 */
export async function consumeImport(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const ctx = await ctxForBatch("import", batch, env);
  if (!ctx) return;
  for (const message of batch.messages) {
    const parsed = ImportMessage.safeParse(message.body);
    if (!parsed.success) {
      console.error("import queue: a message that is not an import chunk", message.body);
      message.ack();
      continue;
    }
    const body = parsed.data;
    if (body.kind === "csv") {
      const outcome = await processImportChunk(ctx, body.job, body.chain);
      if (outcome === "more") await startChain(ctx, body.job, body.chain);
      if (outcome === "busy") {
        message.retry({ delaySeconds: 120 });
        continue;
      }
      message.ack();
      continue;
    }
    if (body.kind === "export") {
      await consumeExportChunk(ctx, body.exportId, message);
      continue;
    }
    try {
      const result = await runImportChunk(ctx, body.importId);
      if (result === "more") await enqueueArchiveChunk(ctx, body.importId);
      message.ack();
    } catch (e) {
      console.error(`archive import ${body.importId}: chunk failed`, e);
      message.retry({ delaySeconds: 30 });
    }
  }
}

export async function enqueueArchiveChunk(ctx: Ctx, importId: string): Promise<void> {
  await ctx.env.IMPORT_QUEUE.send({ v: 1, kind: "archive", importId }, { contentType: "json" });
}

/**
 * The cron's backstop for archive imports: a job that is waiting or running with no live lease and no
 * progress for five minutes lost its message (a chunk crashed on every attempt): it gets a new one.
 */
export async function resumeImports(ctx: Ctx, now = new Date()): Promise<number> {
  const stalled = await resumableImports(ctx, now);
  for (const id of stalled) await enqueueArchiveChunk(ctx, id);
  return stalled.length;
}
