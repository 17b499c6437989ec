import { html } from "hono/html";
import type { Dashboard } from "../services/dashboard";
import { BUCKETS } from "../services/relay-accounting";
import { clock, FREE_PER_INVOCATION, fmt, mb, METRIC_LABELS } from "../services/plan";
import { barChart } from "./charts";
import { csrfField, ownerPage } from "./owner-layout";

/** The dashboard's HTML (routes in ./dashboard.ts), drawn from the same object as its JSON. */

const COLORS = {
  processed: "#1a7f37",
  retried: "#bf8700",
  failed: "#cf222e",
  sent: "#0b57d0",
  requests: "#0b57d0",
  written: "#8250df",
  read: "#0969da",
  queueOps: "#bc4c00",
};

const BUCKET_COLORS: Record<(typeof BUCKETS)[number], string> = {
  stored: "#1a7f37",
  duplicate: "#8c959f",
  filtered: "#57606a",
  sampled: "#bf8700",
  capped: "#bc4c00",
  unauthenticated: "#cf222e",
  invalid: "#82071e",
};

const hourLabel = (h: string) => h.slice(11, 13);
const dayLabel = (d: string) => d.slice(5);

const DONE: Record<string, string> = {
  retried: "Sent back to its queue.",
  discarded: "Dead letter discarded.",
};

export function dashboardPage(d: Dashboard, csrfToken: string, opts: { done?: string; rows?: RowsTable }) {
  const done = opts.done ? DONE[opts.done] : undefined;
  return ownerPage({
    title: "Dashboard",
    csrfToken,
    nav: "/admin/dashboard",
    body: html`<h1>Dashboard</h1>
      ${done ? html`<p class="notice" role="status">${done}</p>` : ""}
      <p class="muted">
        As of ${d.now.slice(0, 16).replace("T", " ")} UTC. Figures are Perch's own meter of what Cloudflare
        bills; Cloudflare's dashboard is the bill itself. CPU time is not metered: a Worker cannot see it.
      </p>
      ${
        d.warnings.length
          ? html`<section class="card warnings" aria-labelledby="warn-h">
              <h2 id="warn-h">Warnings</h2>
              <ul>
                ${d.warnings.map((w) => html`<li class="${w.level}">${w.text}</li>`)}
              </ul>
            </section>`
          : html`<p class="ok" role="status">Within every Free plan limit today.</p>`
      }
      ${todayCard(d)} ${costCard(d)} ${queuesCard(d)} ${deadLettersCard(d, csrfToken)} ${relaysCard(d)}
      ${hostsCard(d)} ${storageCard(d, opts.rows)}`,
  });
}

function todayCard(d: Dashboard) {
  return html`<section class="card" aria-labelledby="today-h">
    <h2 id="today-h">Today against the Free plan</h2>
    <table class="figures" id="plan-table">
      <thead>
        <tr>
          <th scope="col">What</th>
          <th scope="col">Used today</th>
          <th scope="col">Free limit</th>
          <th scope="col">Share</th>
          <th scope="col">Last hour</th>
          <th scope="col">Runs out</th>
        </tr>
      </thead>
      <tbody>
        ${d.today.use.map(
          (u) =>
            html`<tr data-metric="${u.metric}">
              <th scope="row">${METRIC_LABELS[u.metric]}</th>
              <td class="used">${fmt(u.used)}</td>
              <td>${fmt(u.limit)}${u.metric.startsWith("r2") ? " (a month's pace)" : ""}</td>
              <td>
                <meter min="0" max="1" value="${Math.min(1, u.share)}"></meter> ${(u.share * 100).toFixed(1)}%
              </td>
              <td>${fmt(u.perHour)}</td>
              <td>${u.runsOutAt ? clock(u.runsOutAt) : "not today"}</td>
            </tr>`,
        )}
        <tr>
          <th scope="row">Most subrequests in one invocation</th>
          <td class="used" id="max-subrequests">${d.today.maxSubrequests}</td>
          <td>${FREE_PER_INVOCATION.subrequests}</td>
          <td colspan="3"></td>
        </tr>
        <tr>
          <th scope="row">Most D1 queries in one invocation</th>
          <td class="used" id="max-queries">${d.today.maxD1Queries}</td>
          <td>${FREE_PER_INVOCATION.d1Queries}</td>
          <td colspan="3"></td>
        </tr>
      </tbody>
    </table>
    ${barChart({
      title: "Requests per hour, last 24 hours",
      labels: d.hours24.map((h) => hourLabel(h.at)),
      series: [{ label: "requests", color: COLORS.requests, values: d.hours24.map((h) => h.requests) }],
      labelEvery: 3,
    })}
    ${barChart({
      title: "D1 rows written per hour, last 24 hours",
      labels: d.hours24.map((h) => hourLabel(h.at)),
      series: [
        { label: "rows written", color: COLORS.written, values: d.hours24.map((h) => h.d1RowsWritten) },
      ],
      labelEvery: 3,
    })}
    ${barChart({
      title: "Per day, last 7 days: D1 rows written and Queue operations",
      labels: d.days7.map((x) => dayLabel(x.at)),
      series: [
        { label: "rows written", color: COLORS.written, values: d.days7.map((x) => x.d1RowsWritten) },
        { label: "queue operations", color: COLORS.queueOps, values: d.days7.map((x) => x.queueOps) },
      ],
      labelEvery: 1,
    })}
  </section>`;
}

function costCard(d: Dashboard) {
  const m = d.month;
  return html`<section class="card" aria-labelledby="cost-h">
    <h2 id="cost-h">
      A month like the last ${m.days < 1 ? `${Math.round(m.days * 24)} hours` : `${m.days.toFixed(1)} days`}
    </h2>
    <table class="figures">
      <tbody>
        ${(Object.keys(METRIC_LABELS) as (keyof typeof METRIC_LABELS)[]).map(
          (k) =>
            html`<tr>
              <th scope="row">${METRIC_LABELS[k]}</th>
              <td>${fmt(m.perMonth[k])} a month</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p id="cost-free">
      <strong>Free plan:</strong> ${
        m.freeFits
          ? html`fits${m.freeUsd > 0 ? html`, with $${m.freeUsd.toFixed(2)} of R2 beyond its free allowance` : ""}.`
          : html`does not fit: ${m.freeOver.map((x) => METRIC_LABELS[x]).join(", ") || "the database size"} go
            over the daily limits.`
      }
    </p>
    <p id="cost-paid">
      <strong>$5 plan:</strong> about $${m.paidUsd.toFixed(2)} a
      month${
        m.paidLines.length
          ? html` ($5 plus
            ${m.paidLines.map((l) => `$${l.usd.toFixed(2)} for ${l.metric in METRIC_LABELS ? METRIC_LABELS[l.metric as keyof typeof METRIC_LABELS] : l.metric === "d1Storage" ? "D1 storage" : "R2 storage"}`).join(", ")})`
          : ""
      }.
    </p>
  </section>`;
}

function queuesCard(d: Dashboard) {
  return html`<section class="card" aria-labelledby="queues-h">
    <h2 id="queues-h">Queues</h2>
    <table class="figures" id="queue-table">
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Oldest taken (latest hour)</th>
          <th scope="col">Sent 24 h</th>
          <th scope="col">Processed</th>
          <th scope="col">Retried</th>
          <th scope="col">Failed</th>
        </tr>
      </thead>
      <tbody>
        ${d.queues.map(
          (q) =>
            html`<tr data-queue="${q.queue}">
              <th scope="row">${q.queue}</th>
              <td>${fmt(q.backlog)}</td>
              <td>${q.lagSeconds} s</td>
              <td>${fmt(q.total24.sent)}</td>
              <td>${fmt(q.total24.processed)}</td>
              <td>${fmt(q.total24.retried)}</td>
              <td>${fmt(q.total24.failed)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${d.queues.map((q) => [
      barChart({
        title: `${q.queue} per hour, last 24 hours`,
        labels: q.hours24.map((h) => hourLabel(h.at)),
        series: [
          { label: "processed", color: COLORS.processed, values: q.hours24.map((h) => h.processed) },
          { label: "retried", color: COLORS.retried, values: q.hours24.map((h) => h.retried) },
          { label: "failed", color: COLORS.failed, values: q.hours24.map((h) => h.failed) },
        ],
        labelEvery: 3,
        height: 120,
      }),
      barChart({
        title: `${q.queue} per day, last 7 days`,
        labels: q.days7.map((x) => dayLabel(x.at)),
        series: [
          { label: "processed", color: COLORS.processed, values: q.days7.map((x) => x.processed) },
          { label: "retried", color: COLORS.retried, values: q.days7.map((x) => x.retried) },
          { label: "failed", color: COLORS.failed, values: q.days7.map((x) => x.failed) },
        ],
        labelEvery: 1,
        height: 120,
      }),
    ])}
    <p class="muted">
      Waiting: sent and not yet processed or failed, over the last 24 hours (Free keeps messages a day).
    </p>
  </section>`;
}

function deadLettersCard(d: Dashboard, csrfToken: string) {
  return html`<section class="card" aria-labelledby="dead-h">
    <h2 id="dead-h">Dead letters (${fmt(d.deadLetters.total)})</h2>
    ${
      d.deadLetters.items.length === 0
        ? html`<p class="muted">None: nothing has finally failed.</p>`
        : html`<ul class="dead">
            ${d.deadLetters.items.map(
              (x) =>
                html`<li data-id="${x.id}">
                  <strong>${x.kind}</strong> to <code>${x.target}</code> after ${x.attempts} attempts,
                  ${x.createdAt.slice(0, 16).replace("T", " ")}: <span class="muted">${x.error}</span>
                  <form method="post" action="/admin/dead-letters/${x.id}/retry">
                    ${csrfField(csrfToken)}<button type="submit">Retry</button>
                  </form>
                  <form method="post" action="/admin/dead-letters/${x.id}/discard">
                    ${csrfField(csrfToken)}<button type="submit">Discard</button>
                  </form>
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

function relaysCard(d: Dashboard) {
  if (d.relays.length === 0) {
    return html`<section class="card" aria-labelledby="relays-h">
      <h2 id="relays-h">Relays</h2>
      <p class="muted">No relays. <a href="/admin/relays">Add one</a>.</p>
    </section>`;
  }
  return html`<section class="card" aria-labelledby="relays-h">
    <h2 id="relays-h">Relays</h2>
    ${d.relays.map(
      (r) =>
        html`<div class="relay" data-relay="${r.id}">
          <p>
            <strong>${r.name}</strong> (${r.enabled ? r.state : "disabled"}): today ${fmt(r.today.stored)}
            stored of a daily cap of ${fmt(r.dailyCap)};
            ${
              BUCKETS.filter((b) => b !== "stored" && r.today[b] > 0)
                .map((b) => `${fmt(r.today[b])} ${b}`)
                .join(", ") || "nothing else"
            }.
          </p>
          ${barChart({
            title: `${r.name} per hour, last 24 hours`,
            labels: r.hours24.map((h) => hourLabel(h.at)),
            series: BUCKETS.map((b) => ({
              label: b,
              color: BUCKET_COLORS[b],
              values: r.hours24.map((h) => h[b]),
            })),
            labelEvery: 3,
            height: 120,
          })}
        </div>`,
    )}
  </section>`;
}

function hostsCard(d: Dashboard) {
  return html`<section class="card" aria-labelledby="hosts-h">
    <h2 id="hosts-h">Servers failing deliveries</h2>
    ${
      d.hosts.length === 0
        ? html`<p class="muted">None: every server answered its last delivery.</p>`
        : html`<table class="figures" id="host-table">
            <thead>
              <tr>
                <th scope="col">Server</th>
                <th scope="col">Failures in a row</th>
                <th scope="col">Failing since</th>
                <th scope="col">Breaker</th>
              </tr>
            </thead>
            <tbody>
              ${d.hosts.map(
                (h) =>
                  html`<tr>
                    <th scope="row">${h.host}</th>
                    <td>${h.consecutiveFailures}</td>
                    <td>${h.failingSince ? h.failingSince.slice(0, 16).replace("T", " ") : ""}</td>
                    <td>${h.open && h.openUntil ? `open until ${clock(h.openUntil)}` : "closed"}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

export interface RowsTable {
  tables: { name: string; rows: number }[];
  rowsRead: number;
}

function storageCard(d: Dashboard, rows?: RowsTable) {
  const s = d.storage;
  return html`<section class="card" aria-labelledby="storage-h">
    <h2 id="storage-h">Storage</h2>
    <table class="figures" id="storage-table">
      <tbody>
        <tr>
          <th scope="row">D1 database</th>
          <td id="d1-size">${mb(s.d1Bytes)}</td>
          <td>of 500 MB on Free</td>
        </tr>
        <tr>
          <th scope="row">R2: your uploads</th>
          <td id="r2-uploads">${mb(s.uploadBytes)}</td>
          <td>${fmt(s.uploadFiles)} files</td>
        </tr>
        <tr>
          <th scope="row">R2: remote media cache</th>
          <td id="r2-cache">${mb(s.cacheBytes)}</td>
          <td>budget ${mb(s.cacheBudget)}</td>
        </tr>
      </tbody>
    </table>
    ${
      rows
        ? html`<table class="figures" id="rows-table">
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col">Rows</th>
                </tr>
              </thead>
              <tbody>
                ${rows.tables.map(
                  (t) =>
                    html`<tr>
                      <th scope="row">${t.name}</th>
                      <td>${fmt(t.rows)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
            <p class="muted">Counting cost ${fmt(rows.rowsRead)} rows read.</p>`
        : html`<p>
            <a href="/admin/dashboard?rows=1#storage-h">Count the rows of every table</a>
            <span class="muted">(reads every row once, which D1 bills)</span>
          </p>`
    }
  </section>`;
}
