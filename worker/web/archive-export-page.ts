import { html } from "hono/html";
import type { ExportJob } from "../services/archive-export/jobs";
import { csrfField } from "./owner-layout";

/**
 * The "Export my archive" section of /admin/archive: the start form (CSRF-checked), the export under
 * way with its progress (the page's script reloads it while a section says data-running), and the
 * download link of the last finished archive, kept until a new one replaces it.
 */
const PHASES: Record<string, string> = {
  actor: "Profile",
  media: "Media files",
  outbox: "Posts",
  likes: "Likes",
  bookmarks: "Bookmarks",
  finish: "Finishing",
  done: "Done",
};

const MiB = 1024 * 1024;

export function exportDownloadPath(job: Pick<ExportJob, "id">): string {
  return `/admin/archive/export/${job.id}/archive.zip`;
}

function progress(job: ExportJob) {
  const running = job.state === "queued" || job.state === "running";
  if (!running) return "";
  return html`<p role="status" data-running>
    ${job.state === "queued" ? "Waiting to start" : `Writing: ${PHASES[job.phase] ?? job.phase}`} ·
    ${job.mediaDone} media files, ${job.statusesDone} of ${job.statusesTotal || "…"} posts · started
    ${job.createdAt}
  </p>`;
}

function skipped(job: ExportJob) {
  if (job.skips.length === 0) return "";
  return html`<details>
    <summary>Not in the archive, and why (${job.skips.length})</summary>
    <ul>
      ${job.skips.map((s) => html`<li>${s.ref}: ${s.reason}</li>`)}
    </ul>
  </details>`;
}

export function exportSection(csrfToken: string, exports: { latest?: ExportJob; download?: ExportJob }) {
  const { latest, download } = exports;
  const running = latest && (latest.state === "queued" || latest.state === "running");
  return html`<section class="card" id="export">
    <h2>Export my archive</h2>
    <p>
      A Mastodon-format archive of all your posts (every visibility), their media, your profile, likes and
      bookmarks. It is written in the background; this page shows how far it got.
    </p>
    ${latest ? progress(latest) : ""}
    ${
      latest?.state === "failed"
        ? html`<p class="error" role="alert">The last export stopped: ${latest.error ?? "unknown error"}</p>`
        : ""
    }
    ${
      download
        ? html`<p>
              <a href="${exportDownloadPath(download)}" download>Download the archive</a>
              (${((download.size ?? 0) / MiB).toFixed(1)} MB, made
              ${download.finishedAt ?? download.createdAt}; ${download.statusesDone} posts,
              ${download.mediaDone} media files)
            </p>
            ${skipped(download)}`
        : ""
    }
    ${
      running
        ? ""
        : html`<form method="post" action="/admin/archive/export">
            ${csrfField(csrfToken)}
            <button class="primary" type="submit">${download ? "Export again" : "Export my archive"}</button>
          </form>`
    }
  </section>`;
}
