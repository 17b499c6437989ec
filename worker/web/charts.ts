import { html, raw } from "hono/html";

/**
 * Stacked bar charts drawn on the server as inline SVG: readable without JavaScript, printable, and
 * allowed by the owner pages' CSP (no script, no external image). Each bar carries a <title> with its
 * figures, shown on hover and read by screen readers; the chart's <desc> sums it up.
 */

export interface Series {
  label: string;
  color: string;
  values: number[];
}

export interface ChartOptions {
  title: string;
  /** One label per bar (e.g. "14" for 14:00), some shown under the axis. */
  labels: string[];
  series: Series[];
  width?: number;
  height?: number;
  /** Show every nth label. */
  labelEvery?: number;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round number at or above `max` for the axis: 1, 2 or 5 times a power of ten. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function short(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(1));
}

export function barChart(opts: ChartOptions) {
  const width = opts.width ?? 640;
  const height = opts.height ?? 160;
  const left = 44;
  const bottom = 20;
  const top = 8;
  const n = opts.labels.length;
  const plotW = width - left - 4;
  const plotH = height - top - bottom;
  const totals = opts.labels.map((_, i) => opts.series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const step = n > 0 ? plotW / n : plotW;
  const barW = Math.max(1, step * 0.8);
  const every = opts.labelEvery ?? Math.max(1, Math.ceil(n / 12));
  const parts: string[] = [];
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH - f * plotH;
    parts.push(`<line x1="${left}" x2="${width - 4}" y1="${y}" y2="${y}" stroke="#ddd" />`);
    parts.push(
      `<text x="${left - 4}" y="${y + 4}" text-anchor="end" font-size="10" fill="#666">${short(max * f)}</text>`,
    );
  }
  opts.labels.forEach((label, i) => {
    const x = left + i * step + (step - barW) / 2;
    let y = top + plotH;
    const tip = [
      label,
      ...opts.series.map((s) => `${s.label}: ${Math.round(s.values[i] ?? 0).toLocaleString("en-US")}`),
    ].join(", ");
    const rects: string[] = [];
    for (const s of opts.series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      const h = (v / max) * plotH;
      y -= h;
      rects.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${s.color}" />`,
      );
    }
    parts.push(`<g class="bar"><title>${esc(tip)}</title>${rects.join("")}</g>`);
    if (i % every === 0) {
      parts.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle" font-size="10" fill="#666">${esc(label)}</text>`,
      );
    }
  });
  const sum = opts.series
    .map((s) => `${s.label} ${Math.round(s.values.reduce((a, b) => a + b, 0)).toLocaleString("en-US")}`)
    .join(", ");
  const legend = opts.series
    .map(
      (s) =>
        `<span class="key"><span class="swatch" style="background:${s.color}"></span>${esc(s.label)}</span>`,
    )
    .join(" ");
  return html`<figure class="chart">
    <figcaption>${opts.title} <span class="legend">${raw(legend)}</span></figcaption>
    ${raw(
      `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${width} ${height}" width="100%" aria-label="${esc(opts.title)}"><desc>${esc(`${opts.title}: ${sum}`)}</desc>${parts.join("")}</svg>`,
    )}
  </figure>`;
}
