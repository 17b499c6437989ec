import { Hono, type Context, type MiddlewareHandler } from "hono";
import { html } from "hono/html";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { ImportKind, ImportMode } from "../db/schema";
import { readBodyCapped } from "../lib/body";
import { HttpError, notFound } from "../lib/errors";
import { exportCsv, isExportName } from "../services/imports/exports";
import {
  IMPORT_KINDS,
  ImportFileError,
  MAX_IMPORT_BYTES,
  parseImportFile,
} from "../services/imports/formats";
import {
  createImport,
  failedRows,
  findImport,
  importProgress,
  recentImports,
  type ImportJob,
} from "../services/imports/jobs";
import { importJobPage, importsPage, type JobView } from "./imports-page";
import { OWNER_HEADERS, ownerDocument } from "./owner-layout";
import { isJsonPath, ownerSessionOf, requireCsrf, requireOwnerSession } from "./session";

/**
 * The owner's CSV imports and exports in Mastodon's formats: a page (/admin/imports, a form that
 * works without JavaScript), each job's progress (/admin/imports/:id), the files to download
 * (/admin/exports/<name>.csv), and the same as JSON under /admin/api/imports for scripts. Mastodon
 * has no REST API for imports, so neither does Perch's Mastodon API.
 */
export const importWeb = new Hono<AppEnv>();

/** A multipart body around the largest file Mastodon accepts. */
const MAX_UPLOAD = MAX_IMPORT_BYTES + 64 * 1024;

/**
 * Before the CSRF check reads the form: a body too large (or of no declared length) is refused
 * without being read.
 */
const uploadSize: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "POST") {
    const length = Number(c.req.header("content-length") ?? "NaN");
    const refusal = !Number.isFinite(length)
      ? ({ status: 411, message: "Send the file with a Content-Length." } as const)
      : length > MAX_UPLOAD
        ? ({
            status: 413,
            message: "The file is larger than 20 MB, the most Mastodon's formats allow.",
          } as const)
        : null;
    if (refusal) {
      if (isJsonPath(c.req.path)) throw new HttpError(refusal.status, refusal.message, "upload_size");
      // The page's form: a page that says so (no session was looked at yet, so no header of sections).
      return c.html(
        ownerDocument(
          "Not imported",
          html`<main class="alone">
            <h1>Nothing was imported</h1>
            <p class="error" role="alert">${refusal.message}</p>
            <p><a href="/admin/imports">Back to import and export</a></p>
          </main>`,
        ),
        refusal.status,
        OWNER_HEADERS,
      );
    }
  }
  await next();
};

for (const path of ["/admin/imports", "/admin/imports/*", "/admin/api/imports", "/admin/api/imports/*"])
  importWeb.use(path, uploadSize, requireOwnerSession, requireCsrf);
importWeb.use("/admin/exports/*", requireOwnerSession);

const Upload = z.object({
  kind: z.enum(IMPORT_KINDS),
  mode: z.enum(["merge", "overwrite"]).default("merge"),
});

interface UploadForm {
  kind?: string;
  mode?: string;
  filename: string | null;
  bytes: Uint8Array | null;
}

/** The form (multipart: kind, mode, file), or JSON `{ kind, mode, filename?, csv }` for scripts. */
async function readUpload(c: Context<AppEnv>): Promise<UploadForm> {
  const raw = await readBodyCapped(c.req.raw, MAX_UPLOAD);
  // Compared lower-cased; parsed as sent, since a multipart boundary is case-sensitive (Chromium's
  // are mixed-case).
  const header = c.req.header("content-type") ?? "";
  const type = header.toLowerCase();
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  if (type.startsWith("application/json")) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new HttpError(400, "The body is not JSON", "bad_json");
    }
    const o = (json ?? {}) as Record<string, unknown>;
    const csv = str(o.csv);
    return {
      kind: str(o.kind),
      mode: str(o.mode),
      filename: str(o.filename) ?? null,
      bytes: csv === undefined ? null : new TextEncoder().encode(csv),
    };
  }
  if (!type.startsWith("multipart/form-data"))
    throw new HttpError(415, "Send the file as multipart/form-data (or JSON with a csv field)", "media_type");
  let form: FormData;
  try {
    form = await new Request(c.req.url, {
      method: "POST",
      headers: { "content-type": header },
      body: raw,
    }).formData();
  } catch {
    throw new HttpError(400, "The form could not be read", "bad_form");
  }
  const file = form.get("file");
  const isFile = file !== null && typeof file !== "string";
  return {
    kind: str(form.get("kind")),
    mode: str(form.get("mode")),
    filename: isFile ? file.name || null : null,
    bytes: isFile ? new Uint8Array(await file.arrayBuffer()) : null,
  };
}

/** Checks the upload and stores the job: an HttpError (413, 422) says what is wrong with it. */
async function startImport(c: Context<AppEnv>, form: UploadForm): Promise<ImportJob> {
  const parsed = Upload.safeParse({ kind: form.kind, mode: form.mode || undefined });
  if (!parsed.success)
    throw new HttpError(
      422,
      form.kind && !IMPORT_KINDS.includes(form.kind as ImportKind)
        ? `Unknown kind of import: ${form.kind.slice(0, 40)}`
        : "Choose what the file holds, and merge or overwrite",
      "validation",
    );
  if (!form.bytes || form.bytes.byteLength === 0)
    throw new HttpError(422, "Choose a file to import", "validation");
  let rows;
  try {
    rows = parseImportFile(parsed.data.kind, form.bytes);
  } catch (e) {
    if (e instanceof ImportFileError) throw new HttpError(e.status, e.message, "import_file");
    throw e;
  }
  return createImport(c.var.ctx, {
    kind: parsed.data.kind,
    mode: parsed.data.mode as ImportMode,
    filename: form.filename,
    rows,
  });
}

async function view(c: Context<AppEnv>, job: ImportJob): Promise<JobView> {
  return { ...job, ...(await importProgress(c.var.ctx, job.id)) };
}

/** A job as JSON: what it is, how far it got, and (from `from`) its failed rows with their reasons. */
async function jobJson(c: Context<AppEnv>, job: ImportJob, from = 0) {
  const v = await view(c, job);
  const failures = await failedRows(c.var.ctx, job.id, from, 100);
  return {
    id: v.id,
    kind: v.kind,
    mode: v.mode,
    filename: v.filename,
    state: v.phase === "finished" ? "finished" : v.phase === "overwrite" ? "overwriting" : "importing",
    total: v.total,
    done: v.done,
    failed: v.failed,
    pending: v.pending,
    created_at: v.createdAt,
    finished_at: v.finishedAt,
    failures: failures.map((f) => ({ row: f.seq + 1, data: f.data, reason: f.reason })),
  };
}

const fromParam = (c: Context<AppEnv>) => {
  const n = Number(c.req.query("from") ?? "0");
  return Number.isInteger(n) && n >= 0 ? n : 0;
};

async function jobOr404(c: Context<AppEnv>): Promise<ImportJob> {
  const id = c.req.param("id") ?? "";
  const job = /^\d{1,20}$/.test(id) ? await findImport(c.var.ctx, id) : undefined;
  if (!job) throw notFound("No such import");
  return job;
}

// --- JSON ---------------------------------------------------------------------------------------

importWeb.get("/admin/api/imports", async (c) => {
  const jobs = await recentImports(c.var.ctx);
  return c.json({ imports: await Promise.all(jobs.map((j) => jobJson(c, j))) });
});

importWeb.post("/admin/api/imports", async (c) => {
  const job = await startImport(c, await readUpload(c));
  return c.json(await jobJson(c, job), 201);
});

importWeb.get("/admin/api/imports/:id", async (c) =>
  c.json(await jobJson(c, await jobOr404(c), fromParam(c))),
);

// --- HTML ---------------------------------------------------------------------------------------

async function page(c: Context<AppEnv>, extra: { error?: string; kind?: string; mode?: string } = {}) {
  const jobs = await Promise.all((await recentImports(c.var.ctx)).map((j) => view(c, j)));
  const kind = IMPORT_KINDS.find((k) => k === extra.kind);
  return importsPage({
    csrfToken: ownerSessionOf(c).csrfToken,
    jobs,
    ...(extra.error ? { error: extra.error } : {}),
    ...(kind ? { kind } : {}),
    ...(extra.mode ? { mode: extra.mode } : {}),
  });
}

importWeb.get("/admin/imports", async (c) => c.html(await page(c)));

importWeb.post("/admin/imports", async (c) => {
  let form: UploadForm | undefined;
  try {
    form = await readUpload(c);
    const job = await startImport(c, form);
    return c.redirect(`/admin/imports/${job.id}`, 303);
  } catch (e) {
    if (!(e instanceof HttpError) || e.status >= 500) throw e;
    const status = e.status as 400 | 411 | 413 | 415 | 422;
    return c.html(await page(c, { error: e.message, kind: form?.kind, mode: form?.mode }), status);
  }
});

importWeb.get("/admin/imports/:id", async (c) => {
  const job = await jobOr404(c);
  const failures = await failedRows(c.var.ctx, job.id, fromParam(c), 101);
  if (job.phase !== "finished") c.header("refresh", "10");
  return c.html(
    importJobPage({
      csrfToken: ownerSessionOf(c).csrfToken,
      job: await view(c, job),
      failures: failures.slice(0, 100),
      more: failures.length > 100,
    }),
  );
});

importWeb.get("/admin/exports/:file", async (c) => {
  const name = /^([a-z_]+)\.csv$/.exec(c.req.param("file"))?.[1] ?? "";
  if (!isExportName(name)) throw notFound("No such export");
  return c.body(await exportCsv(c.var.ctx, name), 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="${name}.csv"`,
  });
});
