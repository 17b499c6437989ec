/** Running an export to its end chunk by chunk, and reading the archive it left in R2. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { startExport, findExport } from "../../../worker/services/archive-export/jobs";
import { runExportChunk, type ExportChunkOptions } from "../../../worker/services/archive-export/run";
import { bytesSource } from "../../../worker/lib/archive/source";
import { ZipReader } from "../../../worker/lib/archive/zip/reader";
import { testCtx } from "../../helpers/app";
import { readAll } from "../../lib/archive/fixtures";

/** Small pages, so that even a small export takes many chunks. */
export const SMALL: ExportChunkOptions = { mediaPage: 2, outboxPage: 3, collectionPage: 1 };

/** Runs chunks until the export is done; `each` may change the options of chunk n (from 1). */
export async function exportToEnd(
  options: ExportChunkOptions = SMALL,
  each?: (n: number) => ExportChunkOptions | undefined,
) {
  const ctx = testCtx();
  const { job } = await startExport(ctx);
  let chunks = 0;
  for (;;) {
    chunks += 1;
    if (chunks > 500) throw new Error("the export does not end");
    const result = await runExportChunk(ctx, job.id, { ...options, ...each?.(chunks) });
    if (result === "done") break;
    expect(result).toBe("more");
  }
  const done = await findExport(ctx, job.id);
  if (!done) throw new Error("the export row is gone");
  const object = await env.MEDIA.get(done.key);
  if (!object) throw new Error("the archive is not in R2");
  return { job: done, chunks, bytes: new Uint8Array(await object.arrayBuffer()) };
}

/** Every entry of the archive, by name, as bytes; a name that appears twice fails the test. */
export async function entriesOf(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const zip = await ZipReader.open(bytesSource(bytes));
  const out = new Map<string, Uint8Array>();
  for await (const entry of zip.entries()) {
    expect(out.has(entry.name), `${entry.name} appears twice`).toBe(false);
    out.set(entry.name, await readAll(zip.open(entry)));
  }
  return out;
}

export function json(entries: Map<string, Uint8Array>, name: string): any {
  const bytes = entries.get(name);
  if (!bytes) throw new Error(`${name} is not in the archive`);
  return JSON.parse(new TextDecoder().decode(bytes));
}
