/**
 * Each export chunk stays within the Free plan's per-invocation limits (50 D1 queries, 50
 * subrequests): counted here per chunk with the default page sizes, over posts with media, likes and
 * bookmarks. R2 calls are counted at the binding (get, put, head, delete, list, and each part upload
 * and completion of the multipart upload), plus the one queue message a chunk sends.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { d1Usage } from "../../../worker/db/metered";
import { startExport } from "../../../worker/services/archive-export/jobs";
import { runExportChunk } from "../../../worker/services/archive-export/run";
import { bookmark } from "../../../worker/services/bookmarks";
import { createMedia } from "../../../worker/services/media";
import { publishNote } from "../../../worker/services/post-publish";
import { testCtx } from "../../helpers/app";
import { PNG } from "../archive-import/archive";

afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;

function countR2() {
  const count = { n: 0 };
  const bucket = env.MEDIA;
  for (const name of ["get", "put", "head", "delete", "list"] as const) {
    const original = bucket[name].bind(bucket) as (...args: unknown[]) => unknown;
    vi.spyOn(bucket, name).mockImplementation(((...args: unknown[]) => {
      count.n += 1;
      return original(...args);
    }) as never);
  }
  const resume = bucket.resumeMultipartUpload.bind(bucket);
  vi.spyOn(bucket, "resumeMultipartUpload").mockImplementation((key, id) => {
    const upload = resume(key, id);
    return {
      key: upload.key,
      uploadId: upload.uploadId,
      uploadPart: (...a: Parameters<R2MultipartUpload["uploadPart"]>) => {
        count.n += 1;
        return upload.uploadPart(...a);
      },
      complete: (...a: Parameters<R2MultipartUpload["complete"]>) => {
        count.n += 1;
        return upload.complete(...a);
      },
      abort: () => {
        count.n += 1;
        return upload.abort();
      },
    } as R2MultipartUpload;
  });
  return count;
}

describe("an export chunk's cost", () => {
  it("stays within 50 queries and 50 subrequests a chunk", async () => {
    vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
    const ctx = testCtx();
    const big = new Uint8Array(PNG.length + 12 * MiB);
    big.set(PNG);
    let mediaFiles = 0;
    for (let i = 0; i < 90; i++) {
      const mediaIds = [];
      const files = i % 10 === 0 ? 4 : i % 3 === 0 ? 1 : 0;
      mediaFiles += files;
      for (let k = 0; k < files; k++) {
        const bytes = i === 30 && k < 2 ? big : PNG;
        mediaIds.push(
          (await createMedia(ctx, { file: new File([bytes], "x.png"), description: `${i}/${k}` })).id,
        );
      }
      const status = await publishNote(ctx, { text: `post ${i} #tag`, visibility: "public", mediaIds });
      if (i % 4 === 0) await bookmark(ctx, status);
    }
    const { job } = await startExport(ctx);
    const r2 = countR2();
    const costs: { queries: number; subrequests: number }[] = [];
    for (let result = "more"; result === "more";) {
      const q = d1Usage.queries;
      const s = r2.n;
      result = await runExportChunk(testCtx(), job.id);
      // +1: the next chunk's queue message.
      costs.push({ queries: d1Usage.queries - q, subrequests: r2.n - s + 1 });
    }
    const maxQueries = Math.max(...costs.map((c) => c.queries));
    const maxSubrequests = Math.max(...costs.map((c) => c.subrequests));
    console.log(
      `export of 90 posts, ${mediaFiles} media files (two of 12 MiB): ${costs.length} chunks; max ${maxQueries} queries, max ${maxSubrequests} subrequests a chunk`,
      JSON.stringify(costs),
    );
    expect(maxQueries).toBeLessThanOrEqual(50);
    expect(maxSubrequests).toBeLessThanOrEqual(50);
    expect(costs.length).toBeGreaterThan(3);
  }, 120_000);
});
