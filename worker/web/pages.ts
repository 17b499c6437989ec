import { html, raw } from "hono/html";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { inChunks } from "../db/chunks";
import { accounts, statuses } from "../db/schema";
import { uris } from "../federation/uris";
import type { Instance } from "../services/instance";
import { tagTimeline } from "../services/timelines";

/** Simple, real pages for people who open a profile or post in a browser. The web UI comes later. */
function layout(title: string, body: ReturnType<typeof html>, alternate?: string) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        ${alternate ? html`<link rel="alternate" type="application/activity+json" href="${alternate}" />` : ""}
        <style>
          body {
            font:
              16px/1.5 system-ui,
              sans-serif;
            max-width: 40rem;
            margin: 2rem auto;
            padding: 0 1rem;
            color: #222;
          }
          header {
            border-bottom: 1px solid #ddd;
            margin-bottom: 1rem;
          }
          .handle {
            color: #666;
          }
          article {
            border-bottom: 1px solid #eee;
            padding: 0.75rem 0;
          }
          time {
            color: #888;
            font-size: 0.85em;
          }
          .cw {
            font-weight: 600;
          }
          .author {
            font-weight: 600;
            color: inherit;
            text-decoration: none;
          }
          nav {
            margin: 1rem 0;
          }
        </style>
      </head>
      <body>
        ${body}
      </body>
    </html>`;
}

function post(ctx: Ctx, s: Status) {
  const u = uris(ctx.config);
  return html`<article>
    ${s.spoilerText ? html`<p class="cw">${s.spoilerText}</p>` : ""}
    <div>${raw(s.content)}</div>
    <a href="${u.statusUrl(s.id)}"
      ><time datetime="${s.publishedAt}">${s.publishedAt.slice(0, 16).replace("T", " ")}</time></a
    >
  </article>`;
}

export async function profilePage(ctx: Ctx, { owner }: Instance) {
  const u = uris(ctx.config);
  const recent = await ctx.db
    .select()
    .from(statuses)
    .where(
      and(
        eq(statuses.accountId, owner.id),
        isNull(statuses.deletedAt),
        isNull(statuses.reblogOfId),
        inArray(statuses.visibility, ["public"]),
      ),
    )
    .orderBy(desc(statuses.id))
    .limit(20);
  const name = owner.displayName || ctx.config.username;
  return layout(
    `${name} (@${u.handle})`,
    html`<header>
        <h1>${name}</h1>
        <p class="handle">@${u.handle}</p>
        ${owner.movedTo ? await movedNotice(ctx, owner.movedTo) : ""}
        <div>${raw(owner.note)}</div>
      </header>
      ${recent.length === 0 ? html`<p>No posts yet.</p>` : recent.map((s) => post(ctx, s))}`,
    u.actor,
  );
}

/** Where the owner moved to, as Mastodon's profile shows it: a link to the new account's profile. */
async function movedNotice(ctx: Ctx, movedTo: string) {
  const target = (await ctx.db.select().from(accounts).where(eq(accounts.uri, movedTo)).limit(1))[0];
  // The stored profile URL when it is http(s), else the actor URI (http(s), as stored: schemas.ts).
  const href = target?.url && /^https?:\/\//i.test(target.url) ? target.url : movedTo;
  const label = target ? `@${target.username}@${target.domain}` : movedTo;
  return html`<p class="moved" role="status">
    This account has moved to <a href="${href}" rel="me">${label}</a>.
  </p>`;
}

export async function statusPage(ctx: Ctx, s: Status) {
  const u = uris(ctx.config);
  const { owner } = await ctx.instance();
  const name = owner.displayName || ctx.config.username;
  if (s.deletedAt) {
    return layout(
      "Deleted post",
      html`<p>This post by <a href="${u.profileUrl}">@${u.handle}</a> was deleted.</p>`,
    );
  }
  return layout(
    `${name}: post`,
    html`<header><a href="${u.profileUrl}">${name}</a> <span class="handle">@${u.handle}</span></header>
      ${post(ctx, s)}`,
    s.uri,
  );
}

/** How many posts a tag page lists at a time. */
const TAG_PAGE_SIZE = 20;

/**
 * The public posts with a hashtag, newest first, as Mastodon's /tags/NAME shows them to a browser:
 * the same posts as the tag timeline (`name` is normalized there), with their authors, and a link to
 * older ones. `maxId` pages back.
 */
export async function tagPage(ctx: Ctx, name: string, maxId?: string) {
  const u = uris(ctx.config);
  const rows = await tagTimeline(ctx, name, { limit: TAG_PAGE_SIZE, maxId }, {});
  const authorIds = [...new Set(rows.map((s) => s.accountId))];
  const authorRows = await inChunks(authorIds, (c) =>
    ctx.db.select().from(accounts).where(inArray(accounts.id, c)),
  );
  const authors = new Map<string, Account>(authorRows.map((a) => [a.id, a]));
  const last = rows.at(-1);
  const older =
    rows.length === TAG_PAGE_SIZE && last
      ? `${u.base}/tags/${encodeURIComponent(name)}?max_id=${last.id}`
      : null;
  return layout(
    `#${name}`,
    html`<header>
        <h1>#${name}</h1>
        <p class="handle">
          Public posts with this hashtag that <a href="${u.profileUrl}">@${u.handle}</a>'s server knows of.
        </p>
      </header>
      ${
        rows.length === 0
          ? html`<p>No public posts with #${name} yet.</p>`
          : rows.map((s) => taggedPost(ctx, s, authors.get(s.accountId)))
      }
      ${older ? html`<nav><a href="${older}">Older posts</a></nav>` : ""}`,
  );
}

function taggedPost(ctx: Ctx, s: Status, author: Account | undefined) {
  const u = uris(ctx.config);
  const link = s.local ? u.statusUrl(s.id) : (s.url ?? s.uri);
  const name = author ? author.displayName || author.username : "";
  const handle = author ? (author.local ? u.handle : `${author.username}@${author.domain}`) : "";
  const body = html`<div>${raw(s.content)}</div>`;
  return html`<article>
    ${
      author
        ? html`<p>
            <a class="author" href="${author.url ?? author.uri}">${name}</a>
            <span class="handle">@${handle}</span>
          </p>`
        : ""
    }
    ${
      s.spoilerText
        ? html`<details>
            <summary class="cw">${s.spoilerText}</summary>
            ${body}
          </details>`
        : body
    }
    <a href="${link}"
      ><time datetime="${s.publishedAt}">${s.publishedAt.slice(0, 16).replace("T", " ")}</time></a
    >
  </article>`;
}

/** The page a browser gets for anything that is not here: an unknown page, post or account. */
export async function notFoundPage(ctx: Ctx): Promise<string> {
  const u = uris(ctx.config);
  const page = await layout(
    "Not found",
    html`<header><h1>Not found</h1></header>
      <p>There is nothing at this address. It may have been deleted, or never existed.</p>
      <p><a href="${u.profileUrl}">@${u.handle}</a></p>`,
  );
  return String(page);
}
