import { html, raw } from "hono/html";
import type { Account } from "../db/client";
import type { ArchivedProfile } from "../db/schema";
import type { ImportReport } from "../services/archive-import/report";
import { csrfField } from "./owner-layout";

/**
 * The parts of an import's card on /admin/archive beyond its figures: the old profile beside the
 * current one with "use this profile" (nothing is overwritten without it), the announce option with
 * its warning, and discarding a stopped import's archive. Every action is a form with the CSRF field.
 * The bios and field values shown were sanitized when stored (the old one by actor.ts, the current
 * one by the profile edit), so they are shown as HTML.
 */

export const ANNOUNCE_WARNING =
  "Your followers will see these old posts arrive in their home timelines, as if you had just posted them. " +
  "Each post is one delivery per server of your followers: many posts to many servers can take days of the " +
  "free plan's queue allowance.";

const action = (r: ImportReport, what: string) => `/admin/archive/imports/${r.id}/${what}`;

function profileColumn(
  title: string,
  p: { name: string; bio: string; fields: { name: string; value: string }[] },
  images: { avatar: string | null; header: string | null },
) {
  return html`<div class="profile-column">
    <h3>${title}</h3>
    ${images.header ? html`<img src="${images.header}" alt="Header" width="300" />` : ""}
    ${images.avatar ? html`<img src="${images.avatar}" alt="Avatar" width="80" height="80" />` : ""}
    <p><strong>${p.name || "(no name)"}</strong></p>
    <div>${raw(p.bio)}</div>
    ${
      p.fields.length > 0
        ? html`<dl>
            ${p.fields.map(
              (f) =>
                html`<dt>${f.name}</dt>
                  <dd>${raw(f.value)}</dd>`,
            )}
          </dl>`
        : ""
    }
  </div>`;
}

function oldProfile(r: ImportReport, old: ArchivedProfile, current: Account, csrf: string) {
  const staged = (kind: "avatar" | "header", key: string | null) =>
    key ? action(r, `profile/${kind}`) : null;
  const decided =
    r.profile.state === "applied"
      ? html`<p class="muted">You chose this profile: it is now yours.</p>`
      : r.profile.state === "declined"
        ? html`<p class="muted">You kept your current profile.</p>`
        : html`<form method="post" action="${action(r, "profile")}">
            ${csrfField(csrf)}
            <button class="primary" type="submit" name="choice" value="apply">Use this profile</button>
            <button type="submit" name="choice" value="decline">Keep my current profile</button>
          </form>`;
  return html`<section class="archive-profile">
    <h3>The profile in the archive</h3>
    <p>
      Using it replaces your name, bio, fields, avatar and header, and sends the change to your followers.
    </p>
    <div class="profile-columns">
      ${profileColumn("In the archive", old, {
        avatar: staged("avatar", old.avatarKey),
        header: staged("header", old.headerKey),
      })}
      ${profileColumn(
        "Your current profile",
        { name: current.displayName, bio: current.note, fields: current.fields },
        { avatar: current.avatarUrl, header: current.headerUrl },
      )}
    </div>
    ${decided}
  </section>`;
}

function announceForm(r: ImportReport, csrf: string) {
  const open = r.state === "queued" || r.state === "running";
  if (!open)
    return r.announce.enabled
      ? html`<p class="muted">Announced to your followers: ${r.announce.delivered} posts.</p>`
      : "";
  return html`<form method="post" action="${action(r, "announce")}">
    ${csrfField(csrf)}
    <p>
      ${
        r.announce.enabled
          ? html`The public and unlisted posts of this import will be sent to your followers
            (${r.announce.delivered} so far).`
          : html`The imported posts stay quiet: nothing is sent to your followers.`
      }
    </p>
    <p class="warning">${ANNOUNCE_WARNING}</p>
    <input type="hidden" name="announce" value="${r.announce.enabled ? "off" : "on"}" />
    <button type="submit">
      ${r.announce.enabled ? "Keep them quiet instead" : "Announce them to my followers"}
    </button>
  </form>`;
}

function discardForm(r: ImportReport, csrf: string) {
  if (r.state !== "failed" || r.archiveDeletedAt) return "";
  return html`<form method="post" action="${action(r, "discard")}">
    ${csrfField(csrf)}
    <p>The archive of this stopped import is kept until you discard it.</p>
    <button type="submit">Discard the archive</button>
  </form>`;
}

export function importExtras(r: ImportReport, current: Account, csrf: string) {
  return html`${r.profile.old ? oldProfile(r, r.profile.old, current, csrf) : ""} ${announceForm(r, csrf)}
  ${discardForm(r, csrf)}
  ${
    r.archiveDeletedAt
      ? html`<p class="muted">The uploaded archive was deleted ${r.archiveDeletedAt}.</p>`
      : ""
  }`;
}
