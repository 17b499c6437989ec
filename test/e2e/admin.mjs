// The owner's web session, as a browser holds it: sign in on /login (CSRF cookie and hidden field),
// keep the session cookie, and call the admin JSON API with the session's CSRF token and an Origin
// header on writes. The `__Host-` cookies are Secure; node's fetch keeps no cookie jar, so the Cookie
// header is sent by hand.
import { approveInBrowser, PASSWORD } from "./lib.mjs";

function cookieValue(response, name) {
  for (const c of response.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const eq = pair.indexOf("=");
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}

/** Signs in as the owner on `base` and returns `call(method, path, body?)` for the admin API. */
export async function ownerSession(base, password = PASSWORD) {
  const origin = new URL(base).origin;
  const page = await fetch(`${base}/login`);
  if (page.status !== 200) throw new Error(`GET /login answered ${page.status}`);
  const loginCsrf = cookieValue(page, "__Host-perch_login_csrf");
  const field = /<input[^>]*name="csrf"[^>]*>/.exec(await page.text())?.[0];
  const csrf = field && /value="([^"]*)"/.exec(field)?.[1];
  if (!loginCsrf || !csrf) throw new Error("the login page gave no CSRF cookie or field");
  const login = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: `__Host-perch_login_csrf=${loginCsrf}`,
      origin,
    },
    body: new URLSearchParams({ password, csrf, next: "/admin" }),
  });
  const session = cookieValue(login, "__Host-perch_session");
  if (login.status !== 303 || !session)
    throw new Error(`POST /login answered ${login.status} without a session: ${await login.text()}`);
  const cookie = `__Host-perch_session=${session}`;
  const info = await fetch(`${base}/admin/api/session`, { headers: { cookie, accept: "application/json" } });
  if (!info.ok) throw new Error(`GET /admin/api/session answered ${info.status}`);
  const { csrfToken } = await info.json();

  return async function call(method, path, body) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        cookie,
        accept: "application/json",
        ...(method === "GET" ? {} : { "x-csrf-token": csrfToken, origin }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** An OAuth access token for the Mastodon API, got as a client would (app, approval page, code). */
export async function apiToken(base, scope = "read") {
  const redirectUri = "urn:ietf:wg:oauth:2.0:oob";
  const app = await (
    await fetch(`${base}/api/v1/apps`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "e2e relays", redirect_uris: redirectUri, scopes: scope }),
    })
  ).json();
  const code = await approveInBrowser(base, { clientId: app.client_id, redirectUri, scope });
  const token = await (
    await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: app.client_id,
        client_secret: app.client_secret,
        redirect_uri: redirectUri,
        code,
        scope,
      }),
    })
  ).json();
  if (!token.access_token) throw new Error(`no access token: ${JSON.stringify(token)}`);
  return token.access_token;
}

/** The subscribed relays, whether the list comes bare (the contract) or as `{ relays, … }`. */
export async function listRelays(call) {
  const answer = await call("GET", "/admin/api/relays");
  return Array.isArray(answer) ? answer : answer.relays;
}
