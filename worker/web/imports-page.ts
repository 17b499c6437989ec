import { html } from "hono/html";
import type { ImportKind } from "../db/schema";
import { IMPORT_KINDS, KIND_NAMES } from "../services/imports/formats";
import type { FailedRow, ImportJob, ImportProgress } from "../services/imports/jobs";
import { csrfField, ownerPage } from "./owner-layout";

/** The import and export page's HTML (routes in ./imports.ts). */

export const KIND_LABELS: Record<ImportKind, string> = {
  following: "Following list",
  blocking: "Blocked accounts",
  muting: "Muted accounts",
  domain_blocking: "Blocked domains",
  bookmarks: "Bookmarks",
  lists: "Lists",
};

const EXPORT_LINKS: [string, string][] = [
  ["following_accounts", "Follows"],
  ["follower_accounts", "Followers"],
  ["blocked_accounts", "Blocked accounts"],
  ["muted_accounts", "Muted accounts"],
  ["blocked_domains", "Blocked domains"],
  ["bookmarks", "Bookmarks"],
  ["lists", "Lists"],
];

export type JobView = ImportJob & ImportProgress;

const when = (iso: string) => html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;

function stateOf(job: JobView): string {
  if (job.phase === "finished") return "finished";
  if (job.phase === "overwrite") return "removing what the file does not hold";
  return job.done + job.failed === 0 ? "waiting" : "importing";
}

function figures(job: JobView) {
  return html`<table class="figures">
    <tr>
      <th>Rows</th>
      <th>Done</th>
      <th>Failed</th>
      <th>Pending</th>
    </tr>
    <tr>
      <td>${job.total.toLocaleString("en-US")}</td>
      <td data-count="done">${job.done.toLocaleString("en-US")}</td>
      <td data-count="failed">${job.failed.toLocaleString("en-US")}</td>
      <td data-count="pending">${job.pending.toLocaleString("en-US")}</td>
    </tr>
  </table>`;
}

export function importsPage(opts: {
  csrfToken: string;
  jobs: JobView[];
  error?: string;
  kind?: ImportKind;
  mode?: string;
}) {
  const kind = opts.kind ?? "following";
  return ownerPage({
    title: "Import and export",
    csrfToken: opts.csrfToken,
    nav: "/admin/imports",
    body: html`<h1>Import and export</h1>
      ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
      <section class="card">
        <h2>Import</h2>
        <p class="muted">
          A CSV file from Mastodon's Import and export page (or Perch's). Up to 20 MB and 20,000 rows; the
          rows are applied in the background, a few at a time, and this page shows how far it got.
        </p>
        <form method="post" action="/admin/imports" enctype="multipart/form-data">
          ${csrfField(opts.csrfToken)}
          <p>
            <label for="kind">What the file holds</label>
            <select id="kind" name="kind">
              ${IMPORT_KINDS.map(
                (k) => html`<option value="${k}" ${k === kind ? "selected" : ""}>${KIND_LABELS[k]}</option>`,
              )}
            </select>
          </p>
          <p>
            <label for="file">File</label>
            <input id="file" type="file" name="file" accept=".csv,text/csv" required />
          </p>
          <fieldset>
            <legend>Mode</legend>
            <label class="inline"
              ><input type="radio" name="mode" value="merge" ${opts.mode === "overwrite" ? "" : "checked"} />
              Merge: keep what you have and add the file's</label
            >
            <label class="inline"
              ><input
                type="radio"
                name="mode"
                value="overwrite"
                ${opts.mode === "overwrite" ? "checked" : ""}
              />
              Overwrite: also remove what the file does not hold (unfollow, unblock …)</label
            >
          </fieldset>
          <p><button type="submit" class="primary">Import</button></p>
        </form>
      </section>
      <section class="card">
        <h2>Export</h2>
        <p class="muted">The same files Mastodon writes, which Mastodon and Perch both import.</p>
        <ul>
          ${EXPORT_LINKS.map(
            ([name, label]) =>
              html`<li><a href="/admin/exports/${name}.csv" download>${label}</a> (${name}.csv)</li>`,
          )}
        </ul>
      </section>
      <section class="card">
        <h2>Recent imports</h2>
        ${
          opts.jobs.length === 0
            ? html`<p class="muted">None yet.</p>`
            : html`<table class="figures">
                <tr>
                  <th>Started</th>
                  <th>Kind</th>
                  <th>Mode</th>
                  <th>State</th>
                  <th>Done</th>
                  <th>Failed</th>
                  <th>Pending</th>
                </tr>
                ${opts.jobs.map(
                  (j) =>
                    html`<tr>
                      <td><a href="/admin/imports/${j.id}">${when(j.createdAt)}</a></td>
                      <td>${KIND_NAMES[j.kind]}</td>
                      <td>${j.mode}</td>
                      <td>${stateOf(j)}</td>
                      <td>${j.done}</td>
                      <td>${j.failed}</td>
                      <td>${j.pending}</td>
                    </tr>`,
                )}
              </table>`
        }
      </section>`,
  });
}

export function importJobPage(opts: {
  csrfToken: string;
  job: JobView;
  failures: FailedRow[];
  more: boolean;
}) {
  const { job } = opts;
  const running = job.phase !== "finished";
  return ownerPage({
    title: "Import",
    csrfToken: opts.csrfToken,
    nav: "/admin/imports",
    body: html`<h1>Import of ${KIND_NAMES[job.kind]}${job.filename ? html` from ${job.filename}` : ""}</h1>
      <p>
        ${job.mode === "overwrite" ? "Overwrite" : "Merge"}, started ${when(job.createdAt)}:
        <strong data-state>${stateOf(job)}</strong>${job.finishedAt ? html` at ${when(job.finishedAt)}` : ""}.
        ${running ? html`<span class="muted">This page reloads itself every 10 seconds.</span>` : ""}
      </p>
      ${figures(job)}
      <h2>Rows that failed</h2>
      ${
        opts.failures.length === 0
          ? html`<p class="muted">None${running ? " so far" : ""}.</p>`
          : html`<table class="figures failures">
                <tr>
                  <th>Row</th>
                  <th>What</th>
                  <th>Why</th>
                </tr>
                ${opts.failures.map(
                  (f) =>
                    html`<tr>
                      <td>${f.seq + 1}</td>
                      <td>
                        ${Object.values(f.data)
                          .filter((v) => typeof v === "string")
                          .join(" · ")}
                      </td>
                      <td>${f.reason}</td>
                    </tr>`,
                )}
              </table>
              ${
                opts.more
                  ? html`<p>
                      <a href="/admin/imports/${job.id}?from=${(opts.failures.at(-1)?.seq ?? 0) + 1}"
                        >More failed rows</a
                      >
                    </p>`
                  : ""
              }`
      }
      <p><a href="/admin/imports">Back to import and export</a></p>`,
  });
}
