import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/**
 * The owner's pages: the public pages' policy (browser.ts' PAGE_CSP) except that their forms may
 * post here. Chromium applies `form-action` to the redirect after a POST as well, and every owner
 * form redirects to a page of this origin.
 */
export const OWNER_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** What every owner page and answer behind the login sends besides its body. */
export const OWNER_HEADERS: Readonly<Record<string, string>> = {
  // Owner pages show private state and carry the CSRF token: no cache, shared or private, keeps them.
  "cache-control": "no-store",
  "content-security-policy": OWNER_CSP,
  // Same-origin requests keep their Referer (the CSRF check's fallback); admin URLs stay here.
  "referrer-policy": "same-origin",
};

/** The sections of the owner's pages, in the header of each. */
export const OWNER_SECTIONS = [
  { href: "/admin", label: "Admin home" },
  { href: "/admin/dashboard", label: "Dashboard" },
  { href: "/admin/relays", label: "Relays" },
  { href: "/admin/moving", label: "Moving" },
  { href: "/admin/imports", label: "Import and export" },
  { href: "/admin/archive", label: "Archive import" },
] as const;

type Body = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 0 1rem 3rem; color: #1d1d1f; background: #fbfbfd; }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.25rem; padding: 0.9rem 0; border-bottom: 1px solid #ddd; margin-bottom: 1.5rem; }
  header .brand { font-weight: 700; margin-right: auto; }
  header nav { display: flex; gap: 1rem; }
  header form { margin: 0; }
  a { color: #0b57d0; }
  a[aria-current="page"] { color: inherit; font-weight: 600; text-decoration: none; }
  h1 { font-size: 1.5rem; margin: 0 0 1rem; }
  button { font: inherit; padding: 0.35rem 0.9rem; border: 1px solid #888; border-radius: 0.4rem; background: #fff; cursor: pointer; }
  button.primary { background: #0b57d0; border-color: #0b57d0; color: #fff; }
  label { display: block; margin-bottom: 0.25rem; font-weight: 600; }
  input[type="password"], input[type="text"] { font: inherit; width: 100%; max-width: 20rem; padding: 0.4rem 0.5rem; border: 1px solid #888; border-radius: 0.4rem; box-sizing: border-box; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 0.6rem; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  .card h2 { font-size: 1.15rem; margin: 0 0 0.25rem; }
  .card > :last-child { margin-bottom: 0; }
  .alone { max-width: 26rem; margin: 4rem auto 0; }
  .error { color: #a50e0e; background: #fce8e6; border-radius: 0.4rem; padding: 0.5rem 0.75rem; }
  .muted { color: #666; }
  .notice, .ok { background: #e6f4ea; border-radius: 0.4rem; padding: 0.5rem 0.75rem; }
  .warnings li.warn { color: #7a4d00; }
  .warnings li.over { color: #a50e0e; font-weight: 600; }
  table.figures { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
  table.figures th, table.figures td { text-align: left; padding: 0.2rem 0.5rem 0.2rem 0; border-bottom: 1px solid #eee; }
  table.figures td { font-variant-numeric: tabular-nums; }
  figure.chart { margin: 0.75rem 0; }
  figure.chart figcaption { font-size: 0.9rem; font-weight: 600; margin-bottom: 0.2rem; }
  .legend { font-weight: 400; color: #555; margin-left: 0.5rem; }
  .legend .key { margin-right: 0.6rem; white-space: nowrap; }
  .swatch { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 0.15rem; margin-right: 0.25rem; vertical-align: -0.05rem; }
  ul.dead li form { display: inline; margin-left: 0.4rem; }
`;

/** The hidden field that carries the session's CSRF token in a form behind the login. */
export function csrfField(token: string) {
  return html`<input type="hidden" name="csrf" value="${token}" />`;
}

/** The document around a page: what the sign-in page and the pages behind it share. */
export function ownerDocument(title: string, content: Body) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${title} · Perch</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        ${content}
      </body>
    </html>`;
}

/**
 * A page behind the login: a header with the sections and a sign-out button (a POST carrying the
 * CSRF token, so no other site can sign the owner out), then `body`. `nav` is the href of the
 * section the page belongs to, marked as the current one.
 */
export function ownerPage(opts: { title: string; csrfToken: string; body: Body; nav?: string }) {
  return ownerDocument(
    opts.title,
    html`<header>
        <span class="brand">Perch</span>
        <nav>
          ${OWNER_SECTIONS.map(
            (s) =>
              html`<a href="${s.href}" ${s.href === opts.nav ? html`aria-current="page"` : ""}
                >${s.label}</a
              >`,
          )}
        </nav>
        <form method="post" action="/logout">
          ${csrfField(opts.csrfToken)}
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>${opts.body}</main>`,
  );
}
