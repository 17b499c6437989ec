import type { Context } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import {
  BUCKETS,
  flushRelayCounts,
  hourOf,
  relayHours,
  sumCounts,
  type BucketCounts,
} from "../services/relay-accounting";
import { retentionDays } from "../services/relay-posts";
import { listRelays, RELAY_DEFAULTS, type Relay } from "../services/relays";
import { csrfField, ownerPage } from "./owner-layout";
import { ownerSessionOf } from "./session";

/** The relay page's HTML (routes in ./relays.ts): the relays with their counts, and the forms. */

/** What the page and the JSON show of a relay: its row and its counts over the last 24 hours. */
export async function withStats(ctx: Ctx, relay: Relay) {
  const since = hourOf(new Date(Date.now() - 23 * 3_600_000));
  const hours = await relayHours(ctx, relay.id, since);
  return { ...relay, last24h: sumCounts(hours) };
}

const DONE: Record<string, string> = {
  added: "Relay added. It shows as pending until the relay accepts.",
  save: "Saved.",
  remove: "Relay removed: Perch sent it an Undo.",
  resubscribe: "Follow sent again.",
  disable: "Relay disabled: what it sends is counted as filtered until you enable it.",
  enable: "Relay enabled.",
  retention: "Saved.",
};

const BUCKET_HELP: Record<(typeof BUCKETS)[number], string> = {
  stored: "kept (or an edit or delete applied)",
  duplicate: "already here",
  filtered: "not wanted: filters, blocks, relay disabled, or nothing to apply",
  sampled: "left out to spread the daily cap over the day",
  capped: "over the daily or per-minute cap",
  unauthenticated: "could not be proven to come from its author",
  invalid: "malformed",
};

/** A relay's name on the page: its host, with the path for hashtag, instance and language relays. */
export function relayTitle(r: Relay): string {
  const u = new URL(r.url);
  return r.protocol === "litepub" && r.inbox === r.url ? `${u.host}${u.pathname}` : u.host;
}

function relayKind(r: Relay): string {
  if (r.protocol === "mastodon") return "Mastodon style";
  if (r.inbox !== r.url) return "LitePub style";
  const kind = /\/(tag|instance|language)\//.exec(new URL(r.url).pathname)?.[1];
  return kind === "tag" ? "hashtag relay (LitePub style)" : `${kind ?? "path"} relay (LitePub style)`;
}

export interface Typed {
  dailyCap?: number;
  rateCap?: number;
  languages?: string[];
  tags?: string[];
  sampling?: boolean;
}

export async function relaysPage(
  c: Context<AppEnv>,
  opts: { error?: string; url?: string; typed?: Typed } = {},
) {
  const ctx = c.var.ctx;
  const { csrfToken } = ownerSessionOf(c);
  await flushRelayCounts(ctx);
  const rows = await Promise.all((await listRelays(ctx)).map((r) => withStats(ctx, r)));
  const days = await retentionDays(ctx);
  const done = DONE[c.req.query("done") ?? ""];
  const typed = opts.typed;
  const when = (iso: string) =>
    html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;
  const bucketsTable = (counts: BucketCounts) =>
    html`<table class="buckets">
      <tr>
        ${BUCKETS.map((b) => html`<th title="${BUCKET_HELP[b]}">${b}</th>`)}
      </tr>
      <tr>
        ${BUCKETS.map((b) => html`<td>${counts[b].toLocaleString("en-US")}</td>`)}
      </tr>
    </table>`;
  const relayCard = (r: Relay & { last24h: BucketCounts }) =>
    html`<section class="card relay${r.enabled ? "" : " disabled"}" data-relay="${r.id}">
      <h2>${relayTitle(r)}</h2>
      <p class="muted">${r.url} · ${relayKind(r)}</p>
      <p>
        <strong class="state state-${r.state}">${r.state}</strong> since ${when(r.stateChangedAt)}
        ${r.enabled ? "" : html` · <strong>disabled</strong>`}
        ${r.rejectReason ? html`<br /><span class="error">The relay said: ${r.rejectReason}</span>` : ""}
      </p>
      <h3>Last 24 hours</h3>
      ${bucketsTable(r.last24h)}
      <form method="post" action="/admin/relays/${r.id}">
        ${csrfField(csrfToken)}
        <div class="grid">
          <label
            >Daily cap (posts) <input type="number" name="dailyCap" min="0" value="${r.dailyCap}"
          /></label>
          <label
            >Rate cap (per minute) <input type="number" name="rateCap" min="1" value="${r.rateCap}"
          /></label>
          <label
            >Languages <input type="text" name="languages" value="${r.languages.join(" ")}" placeholder="all"
          /></label>
          <label
            >Hashtags <input type="text" name="tags" value="${r.tags.join(" ")}" placeholder="all"
          /></label>
        </div>
        <label class="inline"
          ><input type="checkbox" name="sampling" ${r.sampling ? "checked" : ""} /> Spread the daily cap over
          the day (sampling)</label
        >
        <p class="actions">
          <button type="submit" name="action" value="save" class="primary">Save</button>
          <button type="submit" name="action" value="${r.enabled ? "disable" : "enable"}">
            ${r.enabled ? "Disable" : "Enable"}
          </button>
          ${r.state !== "accepted" ? html`<button type="submit" name="action" value="resubscribe">Send the follow again</button>` : ""}
          <button type="submit" name="action" value="remove" class="danger">Remove</button>
        </p>
      </form>
    </section>`;
  return ownerPage({
    title: "Relays",
    csrfToken,
    nav: "/admin/relays",
    body: html`<style>
        .grid {
          display: grid;
          grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
          gap: 0.5rem 1rem;
          align-items: end;
        }
        .grid input {
          width: 100%;
          font-weight: normal;
        }
        .relay.disabled {
          opacity: 0.7;
          border-style: dashed;
        }
        button.danger {
          border-color: #a50e0e;
          color: #a50e0e;
        }
        input[type="number"],
        input[type="url"] {
          font: inherit;
          padding: 0.35rem 0.5rem;
          border: 1px solid #888;
          border-radius: 0.4rem;
          box-sizing: border-box;
        }
        input[type="url"] {
          width: 100%;
        }
        label.inline {
          font-weight: normal;
          margin: 0.5rem 0;
        }
        .buckets {
          border-collapse: collapse;
          font-size: 0.85rem;
          margin-bottom: 0.75rem;
          width: 100%;
        }
        .buckets th,
        .buckets td {
          border: 1px solid #ddd;
          padding: 0.2rem 0.4rem;
          text-align: right;
        }
        .buckets th {
          background: #f3f3f6;
          font-weight: 600;
        }
        .state-accepted {
          color: #137333;
        }
        .state-pending {
          color: #8a6d00;
        }
        .state-rejected {
          color: #a50e0e;
        }
        .ok {
          color: #137333;
          background: #e6f4ea;
          border-radius: 0.4rem;
          padding: 0.5rem 0.75rem;
        }
        .actions {
          display: flex;
          flex-wrap: wrap;
          gap: 0.5rem;
        }
      </style>
      <h1>Relays</h1>
      ${done ? html`<p class="ok" role="status">${done}</p>` : ""}
      ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
      <p class="muted">
        A relay fills the federated and hashtag timelines with public posts from servers you do not follow.
        Each relay has budgets so that it cannot flood this server: what it sends beyond them is counted, not
        stored. Relayed posts nobody interacts with are removed after ${days} days; media is fetched only when
        someone looks.
      </p>
      ${rows.length === 0 ? html`<p>No relays yet.</p>` : rows.map(relayCard)}
      <section class="card">
        <h2>Add a relay</h2>
        <form method="post" action="/admin/relays">
          ${csrfField(csrfToken)}
          <label for="relay-url">Relay address</label>
          <input
            id="relay-url"
            type="url"
            name="url"
            required
            value="${opts.url ?? ""}"
            placeholder="https://relay.example/inbox or https://relay.fedi.buzz/tag/cats"
          />
          <p class="muted">
            A Mastodon-style relay is given by its inbox (ending in /inbox); a LitePub relay by its actor;
            hashtag, instance and language relays by their …/tag/NAME, …/instance/HOST or …/language/LANG
            address.
          </p>
          <div class="grid">
            <label
              >Daily cap (posts)
              <input
                type="number"
                name="dailyCap"
                min="0"
                value="${typed?.dailyCap ?? RELAY_DEFAULTS.dailyCap}"
            /></label>
            <label
              >Rate cap (per minute)
              <input type="number" name="rateCap" min="1" value="${typed?.rateCap ?? RELAY_DEFAULTS.rateCap}"
            /></label>
            <label
              >Languages
              <input
                type="text"
                name="languages"
                value="${(typed?.languages ?? []).join(" ")}"
                placeholder="all (e.g. en de)"
            /></label>
            <label
              >Hashtags
              <input
                type="text"
                name="tags"
                value="${(typed?.tags ?? []).join(" ")}"
                placeholder="all (e.g. cats)"
            /></label>
          </div>
          <label class="inline"
            ><input type="checkbox" name="sampling" ${typed?.sampling === false ? "" : "checked"} /> Spread
            the daily cap over the day (sampling)</label
          >
          <p><button type="submit" class="primary">Add relay</button></p>
        </form>
      </section>
      <section class="card">
        <h2>Keeping relayed posts</h2>
        <form method="post" action="/admin/relays/retention">
          ${csrfField(csrfToken)}
          <label
            >Remove relayed posts nobody interacted with after (days)
            <input type="number" name="days" min="1" max="365" value="${days}"
          /></label>
          <p><button type="submit">Save</button></p>
        </form>
      </section>`,
  });
}
