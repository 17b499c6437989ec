/**
 * The export's messages on the import queue (kind "export"): each runs one chunk and, while work
 * remains, sends the next. A chunk that throws is retried 30 seconds later (the job row counts the
 * failures and gives up after five); one that finds the job busy (another chunk holds the lease)
 * looks again a minute later; a job whose message was lost is resumed by the cron.
 */
import type { Ctx } from "../../context";
import { resumableExports } from "./jobs";
import { runExportChunk } from "./run";

export async function enqueueExportChunk(ctx: Ctx, exportId: string): Promise<void> {
  await ctx.env.IMPORT_QUEUE.send({ v: 1, kind: "export", exportId }, { contentType: "json" });
}

export async function consumeExportChunk(ctx: Ctx, exportId: string, message: Message): Promise<void> {
  try {
    const result = await runExportChunk(ctx, exportId);
    if (result === "busy") {
      message.retry({ delaySeconds: 60 });
      return;
    }
    if (result === "more") await enqueueExportChunk(ctx, exportId);
    message.ack();
  } catch (e) {
    console.error(`archive export ${exportId}: chunk failed`, e);
    message.retry({ delaySeconds: 30 });
  }
}

/** The cron's backstop: exports queued or running, with no live lease and no progress for five minutes. */
export async function resumeExports(ctx: Ctx, now = new Date()): Promise<number> {
  const stalled = await resumableExports(ctx, now);
  for (const id of stalled) await enqueueExportChunk(ctx, id);
  return stalled.length;
}
