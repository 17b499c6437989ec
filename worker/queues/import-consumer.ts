import type { Bindings } from "../env";
import { startChain } from "../services/imports/jobs";
import { processImportChunk } from "../services/imports/process";
import { ctxForBatch } from "./ctx";
import { ImportMessage } from "./messages";

/**
 * The import queue (wrangler.toml: one message a batch, so a chunk has the invocation's whole
 * budget). Each message runs one chunk of its job and, while rows remain, sends the next message of
 * the chain, so a job moves on by itself at one message (3 Queue operations) per chunk. A job another
 * invocation holds is looked at again two minutes later (five tries outlast a lease); a message that
 * crashes is retried by the queue, and finds the job busy until the lease it left lapses. A chain that dies anyway is
 * restarted by the cron (services/imports/jobs.ts restartStalledImports).
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
    const { job, chain } = parsed.data;
    const outcome = await processImportChunk(ctx, job, chain);
    if (outcome === "more") await startChain(ctx, job, chain);
    if (outcome === "busy") {
      message.retry({ delaySeconds: 120 });
      continue;
    }
    message.ack();
  }
}
