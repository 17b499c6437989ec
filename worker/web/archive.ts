import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { readBodyCapped } from "../lib/body";
import { HttpError, notFound } from "../lib/errors";
import { readJsonBody } from "../lib/json-body";
import { enqueueArchiveChunk } from "../queues/import-consumer";
import {
  applyArchivedProfile,
  declineArchivedProfile,
  ProfileDecisionError,
} from "../services/archive-import/actor";
import {
  completeUpload,
  containerOf,
  createUpload,
  discardImport,
  findImport,
  MAX_ARCHIVE_SIZE,
  PART_SIZE,
  partCount,
  setAnnounce,
  uploadedParts,
  uploadPart,
  UploadError,
  type ImportJob,
} from "../services/archive-import/jobs";
import { importReport, listImports, type ImportReport } from "../services/archive-import/report";
import { currentExports } from "../services/archive-export/jobs";
import { ARCHIVE_SCRIPT } from "./archive-script";
import { exportSection } from "./archive-export-page";
import { ARCHIVE_CSP, archivePage } from "./archive-page";
import { formField, ownerSessionOf, requireCsrf, requireOwnerSession } from "./session";

/**
 * Importing a Mastodon archive: the page (/admin/archive) and its script, and the JSON routes the
 * script uploads through (/admin/api/archive/…), all behind the owner's login, every change
 * CSRF-checked (the script sends the token as X-CSRF-Token).
 */
export const archiveWeb = new Hono<AppEnv>();

for (const path of ["/admin/archive", "/admin/archive/*", "/admin/api/archive/*"]) {
  archiveWeb.use(path, requireOwnerSession, requireCsrf);
}

const asHttp = (e: unknown): never => {
  if (e instanceof UploadError) throw new HttpError(e.status, e.message, "archive_upload");
  if (e instanceof ProfileDecisionError) throw new HttpError(e.status, e.message, "archive_profile");
  throw e;
};

const NewUpload = z.object({
  filename: z.string().trim().min(1).max(255),
  size: z.number().int().positive().max(MAX_ARCHIVE_SIZE),
  /** The file's first bytes in hex, which say what it is (see createUpload). */
  head: z
    .string()
    .regex(/^(?:[0-9a-f]{2}){1,32}$/i)
    .transform((hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)))
    .optional(),
  /** Deliver the imported public and unlisted posts to the followers (off unless asked). */
  announce: z.boolean().optional(),
});

async function uploadEntity(c: { var: AppEnv["Variables"] }, job: ImportJob) {
  return {
    id: job.id,
    state: job.state,
    filename: job.filename,
    size: job.size,
    partSize: job.partSize,
    partCount: partCount(job),
    container: containerOf(job),
    uploaded: job.state === "uploading" ? await uploadedParts(c.var.ctx, job.id) : [],
  };
}

archiveWeb.post("/admin/api/archive/uploads", async (c) => {
  const input = await readJsonBody(c.req.raw, NewUpload, 4096);
  const job = await createUpload(c.var.ctx, input).catch(asHttp);
  return c.json(await uploadEntity(c, job), 201);
});

archiveWeb.get("/admin/api/archive/uploads/:id", async (c) => {
  const job = await findImport(c.var.ctx, c.req.param("id"));
  if (!job) throw notFound("No such upload");
  return c.json(await uploadEntity(c, job));
});

archiveWeb.put("/admin/api/archive/uploads/:id/parts/:n", async (c) => {
  const n = Number(c.req.param("n"));
  const body = new Uint8Array(await readBodyCapped(c.req.raw, PART_SIZE));
  await uploadPart(c.var.ctx, c.req.param("id"), n, body).catch(asHttp);
  return c.json({ partNumber: n, size: body.length });
});

archiveWeb.post("/admin/api/archive/uploads/:id/complete", async (c) => {
  const job = await completeUpload(c.var.ctx, c.req.param("id")).catch(asHttp);
  await enqueueArchiveChunk(c.var.ctx, job.id);
  return c.json(await uploadEntity(c, job));
});

archiveWeb.get("/admin/api/archive/imports", async (c) => {
  return c.json(await reports(c.var.ctx));
});

archiveWeb.get("/admin/api/archive/imports/:id", async (c) => {
  const report = /^\d{1,20}$/.test(c.req.param("id"))
    ? await importReport(c.var.ctx, c.req.param("id"))
    : undefined;
  if (!report) throw notFound("No such import");
  return c.json(report);
});

async function reports(ctx: AppEnv["Variables"]["ctx"]): Promise<ImportReport[]> {
  const jobs = (await listImports(ctx)).filter((j) => j.state !== "uploading");
  const out = await Promise.all(jobs.map((j) => importReport(ctx, j.id)));
  return out.filter((r): r is ImportReport => r !== undefined);
}

archiveWeb.get("/admin/archive", async (c) => {
  c.header("content-security-policy", ARCHIVE_CSP);
  const { owner } = await c.var.ctx.instance();
  const csrf = ownerSessionOf(c).csrfToken;
  const exports = exportSection(csrf, await currentExports(c.var.ctx));
  return c.html(archivePage(csrf, await reports(c.var.ctx), owner, exports));
});

// --- The forms of an import's card (archive-extras-page.ts) -------------------------------------

const importId = (c: { req: { param(name: string): string } }) => {
  const id = c.req.param("id");
  if (!/^\d{1,20}$/.test(id)) throw notFound("No such import");
  return id;
};

archiveWeb.post("/admin/archive/imports/:id/announce", async (c) => {
  const value = await formField(c, "announce");
  if (value !== "on" && value !== "off") throw new HttpError(422, "announce must be on or off", "archive");
  await setAnnounce(c.var.ctx, importId(c), value === "on").catch(asHttp);
  return c.redirect("/admin/archive", 303);
});

archiveWeb.post("/admin/archive/imports/:id/profile", async (c) => {
  const choice = await formField(c, "choice");
  const id = importId(c);
  if (choice === "apply") await applyArchivedProfile(c.var.ctx, id).catch(asHttp);
  else if (choice === "decline") await declineArchivedProfile(c.var.ctx, id).catch(asHttp);
  else throw new HttpError(422, "choice must be apply or decline", "archive");
  return c.redirect("/admin/archive", 303);
});

archiveWeb.post("/admin/archive/imports/:id/discard", async (c) => {
  await discardImport(c.var.ctx, importId(c)).catch(asHttp);
  return c.redirect("/admin/archive", 303);
});

/** The old profile's staged images, for the owner's eyes only (not under the public /media/). */
archiveWeb.get("/admin/archive/imports/:id/profile/:kind", async (c) => {
  const kind = c.req.param("kind");
  const job = await findImport(c.var.ctx, importId(c));
  const key =
    kind === "avatar" ? job?.profile?.avatarKey : kind === "header" ? job?.profile?.headerKey : null;
  const object = key && job?.profileState === "pending" ? await c.env.MEDIA.get(key) : null;
  if (!object) throw notFound("No such image");
  c.header("content-type", object.httpMetadata?.contentType ?? "application/octet-stream");
  c.header("x-content-type-options", "nosniff");
  c.header("cache-control", "private, no-store");
  return c.body(object.body);
});

archiveWeb.get("/admin/archive/upload.js", (c) => {
  c.header("content-type", "text/javascript; charset=utf-8");
  c.header("x-content-type-options", "nosniff");
  return c.body(ARCHIVE_SCRIPT);
});
