import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Account } from "../db/client";
import type { ImportReport } from "../services/archive-import/report";
import { ANNOUNCE_WARNING, importExtras } from "./archive-extras-page";
import { OWNER_CSP, ownerPage } from "./owner-layout";

/** The owner pages' policy, plus the upload script (by origin) and its calls to this server. */
export const ARCHIVE_CSP = `${OWNER_CSP}; script-src 'self'; connect-src 'self'`;

const STATES: Record<string, string> = {
  uploading: "Upload not finished",
  queued: "Waiting to start",
  running: "Importing",
  done: "Done",
  failed: "Stopped",
};

function reportCard(r: ImportReport, current: Account, csrfToken: string) {
  const running = r.state === "queued" || r.state === "running";
  return html`<section class="card" ${running ? html`data-running` : ""}>
    <h2>${r.filename}</h2>
    <p class="muted">
      ${STATES[r.state] ?? r.state} · started ${r.createdAt}${r.finishedAt ? ` · ended ${r.finishedAt}` : ""}
    </p>
    ${r.error ? html`<p class="error" role="alert">${r.error}</p>` : ""}
    ${r.conversion ? conversion(r.conversion) : ""}
    <table class="figures">
      <tr>
        <th>Kind</th>
        <th>Imported</th>
        <th>Skipped</th>
      </tr>
      <tr>
        <td>Posts</td>
        <td>${r.posts.imported}</td>
        <td>${r.posts.skipped}</td>
      </tr>
      <tr>
        <td>Posts imported before</td>
        <td>${r.posts.alreadyImported}</td>
        <td></td>
      </tr>
      <tr>
        <td>Media</td>
        <td>${r.media.imported}</td>
        <td>${r.media.skipped}</td>
      </tr>
      <tr>
        <td>Polls</td>
        <td>${r.polls.imported}</td>
        <td></td>
      </tr>
      <tr>
        <td>Replies threaded to your posts</td>
        <td>${r.replies?.threaded ?? "counted at the end"}</td>
        <td></td>
      </tr>
      <tr>
        <td>Replies to others' posts</td>
        <td>${r.replies?.toOthers ?? "counted at the end"}</td>
        <td></td>
      </tr>
      <tr>
        <td>Boosts</td>
        <td>${r.boosts.imported}</td>
        <td>${r.boosts.skipped}</td>
      </tr>
      <tr>
        <td>Likes</td>
        <td>${r.likes.imported}</td>
        <td>${r.likes.skipped}</td>
      </tr>
      <tr>
        <td>Bookmarks</td>
        <td>${r.bookmarks.imported}</td>
        <td>${r.bookmarks.skipped}</td>
      </tr>
      <tr>
        <td>Boosts, likes and bookmarks made before</td>
        <td>${r.relinks.already}</td>
        <td></td>
      </tr>
      <tr>
        <td>Boosts, likes and bookmarks still to find</td>
        <td>${r.relinks.pending}</td>
        <td></td>
      </tr>
      <tr>
        <td>Other items</td>
        <td></td>
        <td>${r.other.skipped}</td>
      </tr>
    </table>
    ${
      r.skips.length > 0
        ? html`<details>
            <summary>What was skipped, and why (${r.skipsListed} listed)</summary>
            <ul>
              ${r.skips.map((s) => html`<li>${s.kind} ${s.ref} (item ${s.item}): ${s.reason}</li>`)}
            </ul>
          </details>`
        : ""
    }
    ${importExtras(r, current, csrfToken)}
  </section>`;
}

/** A .tar.gz is turned into a ZIP first: how far that is, in bytes of the archive walked. */
function conversion(c: NonNullable<ImportReport["conversion"]>) {
  const percent = c.total > 0 ? Math.floor((100 * c.walked) / c.total) : 0;
  return html`<p>
    Converting the .tar.gz archive before importing it: ${percent}% (${c.walked} of ${c.total} bytes)
    <progress value="${c.walked}" max="${c.total}"></progress>
  </p>`;
}

/** `extra`: sections beside the import (the export, web/archive-export-page.ts). */
export function archivePage(
  csrfToken: string,
  reports: ImportReport[],
  current: Account,
  extra: HtmlEscapedString | Promise<HtmlEscapedString> | "" = "",
) {
  return ownerPage({
    title: "Import an archive",
    csrfToken,
    nav: "/admin/archive",
    body: html`<h1>Import a Mastodon archive</h1>
      <p>
        Your posts come in with their dates, threads, polls and media, then your boosts, likes and bookmarks.
        Nobody is notified and, unless you ask for it below, nothing is sent to your followers: they appear on
        your profile as they were. The uploaded archive is deleted once the import no longer needs it.
      </p>
      <section class="card" id="archive-upload" data-csrf="${csrfToken}">
        <form>
          <label for="archive-file">The archive (.zip or .tar.gz) you downloaded from your old server</label>
          <input
            id="archive-file"
            type="file"
            accept=".zip,.tar.gz,.tgz,application/zip,application/gzip"
            required
          />
          <label
            ><input id="archive-announce" type="checkbox" name="announce" /> Announce the imported public and
            unlisted posts to my followers</label
          >
          <p class="warning">${ANNOUNCE_WARNING}</p>
          <button class="primary" type="submit">Upload and import</button>
        </form>
        <progress value="0" max="1"></progress>
        <p role="status" aria-live="polite"></p>
        <noscript
          ><p class="error">Uploading needs JavaScript: the archive goes to storage in parts.</p></noscript
        >
      </section>
      ${reports.map((r) => reportCard(r, current, csrfToken))} ${extra}
      <script src="/admin/archive/upload.js" defer></script>`,
  });
}
