import { html, raw } from "hono/html";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { statuses } from "../db/schema";
import { uris } from "../federation/uris";
import type { Instance } from "../services/instance";

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
        <div>${raw(owner.note)}</div>
      </header>
      ${recent.length === 0 ? html`<p>No posts yet.</p>` : recent.map((s) => post(ctx, s))}`,
    u.actor,
  );
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
