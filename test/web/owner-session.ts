import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createApp } from "../../worker/app";
import { BASE, request } from "../helpers/app";

/** What Chromium sends when a page is opened. */
export const BROWSER = {
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
};

export const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** The value a response sets for a cookie, or undefined. */
export function setCookie(res: Response, name: string): string | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(";")[0];
}

/** The hidden fields of a page's forms (the last of a name wins), however the tag is laid out. */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [tag] of html.matchAll(/<input\b[^>]*>/g)) {
    if (!/\btype="hidden"/.test(tag)) continue;
    const name = /\bname="([^"]*)"/.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(tag)?.[1] ?? "";
    if (name)
      out[name] = value
        .replace(/&#39;/g, "'")
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&");
  }
  return out;
}

/** Opens the sign-in page as a browser does: its CSRF cookie and the form's hidden fields. */
export async function openLogin(next?: string) {
  const res = await request(`/login${next === undefined ? "" : `?next=${encodeURIComponent(next)}`}`, {
    headers: BROWSER,
  });
  const text = await res.text();
  return { res, text, cookie: setCookie(res, "__Host-perch_login_csrf") ?? "", fields: hiddenFields(text) };
}

/** Submits the sign-in form, by default from this origin with the cookie and token the page gave. */
export async function submitLogin(
  form: { cookie: string; fields: Record<string, string> },
  password: string,
  opts: { headers?: Record<string, string>; bindings?: Cloudflare.Env; fields?: Record<string, string> } = {},
) {
  const req = new Request(`${BASE}/login`, {
    method: "POST",
    headers: {
      ...BROWSER,
      ...FORM,
      origin: BASE,
      cookie: `__Host-perch_login_csrf=${form.cookie}`,
      ...opts.headers,
    },
    body: new URLSearchParams({ ...form.fields, ...opts.fields, password }).toString(),
  });
  return opts.bindings ? requestWith(opts.bindings, req) : request(req);
}

const worker = createApp();

/** Sends a request through the whole app with other bindings (a missing secret, say). */
export async function requestWith(bindings: Cloudflare.Env, req: Request): Promise<Response> {
  const execution = createExecutionContext();
  const res = await worker.fetch(req, bindings, execution);
  await waitOnExecutionContext(execution);
  return res;
}

/** Signs in with the owner password; the session cookie's value and the CSRF token of its session. */
export async function signIn(): Promise<{ session: string; cookie: string; csrf: string }> {
  const res = await submitLogin(await openLogin(), env.OWNER_PASSWORD as string);
  const session = setCookie(res, "__Host-perch_session");
  if (res.status !== 303 || !session) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const cookie = `__Host-perch_session=${session}`;
  const api = await request("/admin/api/session", { headers: { cookie } });
  const { csrfToken } = (await api.json()) as { csrfToken: string };
  return { session, cookie, csrf: csrfToken };
}
