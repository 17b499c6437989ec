import { createMessageBatch, env, getQueueResult, createExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { importJobs } from "../../worker/db/schema";
import { consumeImport } from "../../worker/queues/import-consumer";
import type { ImportMessage } from "../../worker/queues/messages";
import { upkeep } from "../../worker/queues/upkeep";
import { findImport, importProgress } from "../../worker/services/imports/jobs";
import { testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { startImport } from "../services/imports/helpers";

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

/** Domains to block: no fetch, a few queries each, so many fit one chunk. */
const domains = (n: number) => Array.from({ length: n }, (_, i) => `spam${i}.example`).join("\n");

async function consume(message: ImportMessage) {
  const batch = createMessageBatch<ImportMessage>("perch-import", [
    { id: "m1", timestamp: new Date(), attempts: 1, body: message },
  ]);
  const execution = createExecutionContext();
  await consumeImport(batch, env);
  return getQueueResult(batch, execution);
}

describe("the import queue", { timeout: 30_000 }, () => {
  it("starts a job's chain when the job is stored, and each message sends the next until the end", async () => {
    mockFetch({});
    const sends = vi.spyOn(env.IMPORT_QUEUE, "send");
    const ctx = testCtx();
    const job = await startImport(ctx, "domain_blocking", "merge", domains(30));
    expect(sends).toHaveBeenCalledTimes(1);
    let message = sends.mock.calls[0]?.[0] as ImportMessage;
    expect(message).toEqual({ v: 1, kind: "csv", job: job.id, chain: job.chain });
    let consumed = 0;
    while ((await findImport(ctx, job.id))?.phase !== "finished") {
      const result = await consume(message);
      consumed++;
      expect(result.explicitAcks).toEqual(["m1"]);
      message = sends.mock.calls.at(-1)?.[0] as ImportMessage;
      expect(message).toEqual({ v: 1, kind: "csv", job: job.id, chain: job.chain });
      if (consumed > 10) throw new Error("no end");
    }
    expect(await importProgress(ctx, job.id)).toEqual({ pending: 0, done: 30, failed: 0 });
    // Each message but the last sent the next one: one chain, several rows a message.
    expect(sends).toHaveBeenCalledTimes(consumed);
    expect(consumed).toBeLessThanOrEqual(5);
  });

  it("drops a message of a chain the cron replaced, and retries one whose job is busy", async () => {
    mockFetch({});
    const ctx = testCtx();
    const job = await startImport(ctx, "domain_blocking", "merge", domains(3));
    const stale = await consume({ v: 1, kind: "csv", job: job.id, chain: "1" });
    expect(stale.explicitAcks).toEqual(["m1"]);
    expect((await importProgress(ctx, job.id)).done).toBe(0);
    await ctx.db
      .update(importJobs)
      .set({ leaseUntil: new Date(Date.now() + 60_000).toISOString() })
      .where(eq(importJobs.id, job.id));
    const busy = await consume({ v: 1, kind: "csv", job: job.id, chain: job.chain });
    expect(busy.retryMessages).toMatchObject([{ msgId: "m1" }]);
    expect(busy.explicitAcks).toEqual([]);
  });

  it("is restarted by the cron with a new chain when no chunk moved it for ten minutes", async () => {
    mockFetch({});
    const ctx = testCtx();
    const job = await startImport(ctx, "domain_blocking", "merge", domains(3));
    const sends = vi.spyOn(env.IMPORT_QUEUE, "send");
    // Recently moved: left alone.
    await upkeep(env);
    expect(sends).not.toHaveBeenCalled();
    await ctx.db
      .update(importJobs)
      .set({ updatedAt: new Date(Date.now() - 11 * 60_000).toISOString() })
      .where(eq(importJobs.id, job.id));
    await upkeep(env);
    expect(sends).toHaveBeenCalledTimes(1);
    const restarted = await findImport(ctx, job.id);
    expect(restarted?.chain).not.toBe(job.chain);
    expect(sends.mock.calls[0]?.[0]).toEqual({ v: 1, kind: "csv", job: job.id, chain: restarted?.chain });
    // The old chain's message, arriving late, changes nothing.
    expect((await consume({ v: 1, kind: "csv", job: job.id, chain: job.chain })).explicitAcks).toEqual([
      "m1",
    ]);
    expect((await importProgress(ctx, job.id)).done).toBe(0);
    await consume({ v: 1, kind: "csv", job: job.id, chain: restarted?.chain ?? "" });
    expect((await importProgress(ctx, job.id)).done).toBe(3);
  });

  it("acks a message that is not an import chunk, touching nothing", async () => {
    const result = await consume({ v: 2, job: "x" } as unknown as ImportMessage);
    expect(result.explicitAcks).toEqual(["m1"]);
  });
});
