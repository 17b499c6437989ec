import { Hono } from "hono";
import type { AppEnv } from "../app";
import { notFound } from "../lib/errors";
import { currentExports, findExport, startExport } from "../services/archive-export/jobs";
import { enqueueExportChunk } from "../services/archive-export/queue";
import { requireCsrf, requireOwnerSession } from "./session";

/**
 * Exporting the owner's archive: the start form's target (POST /admin/archive/export, CSRF-checked),
 * the download of a finished archive (streamed from R2 under the job's own key, never a redirect or a
 * key from the request), and the progress as JSON for scripts. All behind the owner's login. The
 * page section is in archive-export-page.ts, on /admin/archive.
 */
export const archiveExportWeb = new Hono<AppEnv>();

for (const path of ["/admin/archive/export", "/admin/archive/export/*", "/admin/api/archive/export"]) {
  archiveExportWeb.use(path, requireOwnerSession, requireCsrf);
}

archiveExportWeb.post("/admin/archive/export", async (c) => {
  const { job, started } = await startExport(c.var.ctx);
  if (started) await enqueueExportChunk(c.var.ctx, job.id);
  return c.redirect("/admin/archive#export", 303);
});

archiveExportWeb.get("/admin/archive/export/:id/archive.zip", async (c) => {
  const job = await findExport(c.var.ctx, c.req.param("id"));
  if (!job || job.state !== "done") throw notFound("No such archive");
  const object = await c.var.ctx.env.MEDIA.get(job.key);
  if (!object) throw notFound("The archive is no longer stored");
  const day = (job.finishedAt ?? job.createdAt).slice(0, 10).replace(/[^0-9-]/g, "");
  return c.body(object.body, 200, {
    "content-type": "application/zip",
    "content-length": String(object.size),
    "content-disposition": `attachment; filename="perch-archive-${day}.zip"`,
    "x-content-type-options": "nosniff",
  });
});

archiveExportWeb.get("/admin/api/archive/export", async (c) => {
  const { latest, download } = await currentExports(c.var.ctx);
  const entity = (j: typeof latest) =>
    j && {
      id: j.id,
      state: j.state,
      phase: j.phase,
      statusesTotal: j.statusesTotal,
      statusesDone: j.statusesDone,
      mediaDone: j.mediaDone,
      size: j.size,
      skips: j.skips,
      error: j.error,
      createdAt: j.createdAt,
      finishedAt: j.finishedAt,
    };
  return c.json({
    latest: entity(latest) ?? null,
    download: download
      ? { ...entity(download), url: `/admin/archive/export/${download.id}/archive.zip` }
      : null,
  });
});
