import type { Context } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../app";
import { uris } from "../federation/uris";
import { listAliases } from "../services/aliases";
import { moveState } from "../services/move-out";
import { csrfField, ownerPage } from "./owner-layout";
import { ownerSessionOf } from "./session";

/** The moving page's HTML (routes in ./moving.ts): aliases, the move out, and taking it back. */

const when = (iso: string | null | undefined) =>
  iso ? html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>` : "";

const DONE: Record<string, string> = {
  added: "Alias added. Your actor lists it now, and your followers' servers were sent the change.",
  removed: "Alias removed.",
  moved: "Moved. Your followers' servers were sent the Move and will follow the new account.",
  cancelled: "The redirect is removed. Followers who already moved stay with the new account.",
};

export async function movingPage(c: Context<AppEnv>, opts: { error?: string; typed?: string } = {}) {
  const ctx = c.var.ctx;
  const { csrfToken } = ownerSessionOf(c);
  const [aliases, state] = await Promise.all([listAliases(ctx), moveState(ctx)]);
  const u = uris(ctx.config);
  const done = DONE[c.req.query("done") ?? ""];
  return ownerPage({
    title: "Moving",
    csrfToken,
    nav: "/admin/moving",
    body: html`<h1>Moving</h1>
      ${done ? html`<p class="ok" role="status">${done}</p>` : ""}
      ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
      <section class="card">
        <h2>Aliases</h2>
        <p class="muted">
          To move an old account here, list it as an alias first, then start the move on the old server. Its
          followers' servers then follow <strong>@${u.handle}</strong>.
        </p>
        ${
          aliases.length === 0
            ? html`<p>No aliases.</p>`
            : html`<ul>
                ${aliases.map(
                  (a) =>
                    html`<li>
                      <code>${a}</code>
                      <form method="post" action="/admin/moving/aliases/remove" style="display:inline">
                        ${csrfField(csrfToken)}
                        <input type="hidden" name="alias" value="${a}" />
                        <button type="submit">Remove</button>
                      </form>
                    </li>`,
                )}
              </ul>`
        }
        <form method="post" action="/admin/moving/aliases">
          ${csrfField(csrfToken)}
          <label for="alias">Old account (user@host or URL)</label>
          <input id="alias" type="text" name="alias" required />
          <p><button class="primary" type="submit">Add alias</button></p>
        </form>
      </section>
      <section class="card">
        <h2>Move to another account</h2>
        ${
          state.movedTo
            ? html`<p>
                  This account has moved to <a href="${state.movedTo}" rel="noopener">${state.movedTo}</a>.
                </p>
                <form method="post" action="/admin/moving/cancel">
                  ${csrfField(csrfToken)}
                  <button type="submit">Remove the redirect</button>
                </form>`
            : ""
        }
        ${
          state.cooldownUntil
            ? html`<p class="muted">
                The last move was on ${when(state.lastMoveAt)}; another one is possible after
                ${when(state.cooldownUntil)}.
              </p>`
            : html`<p class="muted">
                  First list <code>${u.actor}</code> as an alias on the new account. Moving tells every
                  follower's server to follow the new account instead; posts stay here. After a move, you
                  cannot move again for 30 days.
                </p>
                <form method="post" action="/admin/moving/move">
                  ${csrfField(csrfToken)}
                  <label for="target">New account (user@host or URL)</label>
                  <input id="target" type="text" name="target" value="${opts.typed ?? ""}" required />
                  <label for="move-password">Your password, to confirm</label>
                  <input
                    id="move-password"
                    type="password"
                    name="password"
                    autocomplete="current-password"
                    required
                  />
                  <p><button class="primary" type="submit">Move</button></p>
                </form>`
        }
      </section>`,
  });
}
