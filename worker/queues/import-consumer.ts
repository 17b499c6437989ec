import type { Bindings } from "../env";
import { runImportChunk } from "../services/archive-import/run";
import { resumableImports } from "../services/archive-import/jobs";
import type { Ctx } from "../context";
import { ctxForBatch } from "./ctx";
import { ImportMessage } from "./messages";

/**
 * The import queue: each message runs one chunk of an archive import and, while work remains, sends
 * the next message (a chunk is a whole invocation's budget: wrangler.toml sets one message a batch).
 * A message that does not fit the contract is dropped with a log line: the job is in D1, and the
 * cron resumes any job left waiting. A chunk that fails is retried later, by the queue or the cron.
 */
export async function consumeImport(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const ctx = await ctxForBatch("import", batch, env);
  if (!ctx) return;
  for (const message of batch.messages) {
    const parsed = ImportMessage.safeParse(message.body);
    if (!parsed.success) {
      console.error("import: a message that is not an import chunk", message.body);
      message.ack();
      continue;
    }
    try {
      const result = await runImportChunk(ctx, parsed.data.importId);
      if (result === "more") await enqueueChunk(ctx, parsed.data.importId);
      message.ack();
    } catch (e) {
      console.error(`import ${parsed.data.importId}: chunk failed`, e);
      message.retry({ delaySeconds: 30 });
    }
  }
}

export async function enqueueChunk(ctx: Ctx, importId: string): Promise<void> {
  await ctx.env.IMPORT_QUEUE.send({ v: 1, importId });
}

/**
 * The cron's backstop: a job that is waiting or running with no live lease and no progress for five
 * minutes lost its message (a chunk crashed on every attempt): it gets a new one.
 */
export async function resumeImports(ctx: Ctx, now = new Date()): Promise<number> {
  const stalled = await resumableImports(ctx, now);
  for (const id of stalled) await enqueueChunk(ctx, id);
  return stalled.length;
}
