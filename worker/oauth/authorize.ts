import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import { eq } from "drizzle-orm";
import type { AppEnv } from "../app";
import { oauthApps, oauthCodes } from "../db/schema";
import { HttpError } from "../lib/errors";
import { checkOwnerPassword } from "./owner-password";
import { one, readParams } from "./params";
import { OOB, withParams } from "./redirects";
import { parseScopes, within } from "./scopes";
import { randomToken, sha256Hex, timingSafeEqual } from "./secrets";

/**
 * The authorization page: the owner sees which app asks for which scopes, signs in with the owner
 * password and approves or denies. Only registered redirect URIs are ever redirected to.
 * https://docs.joinmastodon.org/methods/oauth/#authorize
 */
export const authorize = new Hono<AppEnv>();

const CSRF_COOKIE = "perch_csrf";
const CODE_TTL_MS = 10 * 60_000;

interface Request_ {
  app: typeof oauthApps.$inferSelect;
  redirectUri: string;
  scopes: string[];
  state: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
}

/** Validates the authorization request; errors are shown on a page, never redirected. */
async function validate(c: Context<AppEnv>, p: Record<string, string | string[]>): Promise<Request_> {
  if (one(p.response_type) !== "code")
    throw new HttpError(400, "response_type must be code", "unsupported_response_type");
  const clientId = one(p.client_id) ?? "";
  const app = (
    await c.var.ctx.db.select().from(oauthApps).where(eq(oauthApps.clientId, clientId)).limit(1)
  )[0];
  if (!app) throw new HttpError(400, "Unknown client_id", "invalid_client");
  const redirectUri =
    one(p.redirect_uri) ?? (app.redirectUris.length === 1 ? app.redirectUris[0] : undefined);
  if (!redirectUri || !app.redirectUris.includes(redirectUri)) {
    throw new HttpError(400, "redirect_uri is not one this app registered", "invalid_redirect_uri");
  }
  const scopes = parseScopes(one(p.scope) ?? one(p.scopes), app.scopes);
  if (!scopes || !within(scopes, app.scopes.split(" ")))
    throw new HttpError(400, "Scopes exceed what the app registered", "invalid_scope");
  const codeChallenge = one(p.code_challenge);
  const codeChallengeMethod = codeChallenge ? (one(p.code_challenge_method) ?? "plain") : undefined;
  if (codeChallengeMethod && codeChallengeMethod !== "S256" && codeChallengeMethod !== "plain") {
    throw new HttpError(400, "code_challenge_method must be S256 or plain", "invalid_request");
  }
  return { app, redirectUri, scopes, state: one(p.state), codeChallenge, codeChallengeMethod };
}

/**
 * Browsers apply `form-action` to the redirect that follows the form's POST too (Chromium does), so
 * the redirect target the app registered must be allowed, or approving silently goes nowhere: its
 * origin for a web app (Phanpy, Elk), its scheme for a native app (`com.tapbots.Ivory…:`).
 */
export function formAction(redirectUri: string): string {
  if (redirectUri === OOB) return "'self'";
  try {
    const u = new URL(redirectUri);
    if (u.protocol === "http:" || u.protocol === "https:") return `'self' ${u.origin}`;
    return /^[a-z][a-z0-9+.-]*:$/i.test(u.protocol) ? `'self' ${u.protocol}` : "'self'";
  } catch {
    return "'self'";
  }
}

function page(
  c: Context<AppEnv>,
  r: Request_,
  csrf: string,
  message?: string,
  status: 200 | 401 | 429 = 200,
) {
  const hidden = {
    response_type: "code",
    client_id: r.app.clientId,
    redirect_uri: r.redirectUri,
    scope: r.scopes.join(" "),
    state: r.state,
    code_challenge: r.codeChallenge,
    code_challenge_method: r.codeChallengeMethod,
    csrf,
  };
  c.header("cache-control", "no-store");
  c.header("x-frame-options", "DENY");
  c.header(
    "content-security-policy",
    `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction(r.redirectUri)}; frame-ancestors 'none'`,
  );
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Authorize ${r.app.name}</title>
          <style>
            body {
              font:
                16px/1.5 system-ui,
                sans-serif;
              max-width: 28rem;
              margin: 3rem auto;
              padding: 0 1rem;
            }
            li {
              font-family: monospace;
            }
            .error {
              color: #b00;
            }
            button {
              font-size: 1rem;
              padding: 0.4rem 1rem;
              margin-right: 0.5rem;
            }
          </style>
        </head>
        <body>
          <h1>Authorize ${r.app.name}?</h1>
          <p>
            <strong>${r.app.name}</strong> wants to use your account
            @${c.var.ctx.config.username}@${c.var.ctx.config.accountDomain} with these permissions:
          </p>
          <ul>
            ${r.scopes.map((s) => html`<li>${s}</li>`)}
          </ul>
          ${message ? html`<p class="error" role="alert">${message}</p>` : ""}
          <form method="post" action="/oauth/authorize">
            ${Object.entries(hidden).map(([k, v]) => (v ? html`<input type="hidden" name="${k}" value="${v}" />` : ""))}
            <p>
              <label
                >Password <input type="password" name="password" autocomplete="current-password" autofocus
              /></label>
            </p>
            <p>
              <button type="submit" name="decision" value="approve">Authorize</button
              ><button type="submit" name="decision" value="deny">Deny</button>
            </p>
          </form>
        </body>
      </html>`,
    status,
  );
}

/** A Retry-After in words for the page: "40 seconds", "3 minutes". */
function inWords(seconds: number): string {
  if (seconds < 120) return seconds === 1 ? "a second" : `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

authorize.get("/oauth/authorize", async (c) => {
  const r = await validate(c, await readParams(c));
  const csrf = randomToken(24);
  setCookie(c, CSRF_COOKIE, csrf, {
    httpOnly: true,
    sameSite: "Strict",
    secure: c.var.ctx.config.scheme === "https",
    path: "/oauth/authorize",
    maxAge: 3600,
  });
  return page(c, r, csrf);
});

authorize.post("/oauth/authorize", async (c) => {
  const p = await readParams(c);
  const cookie = getCookie(c, CSRF_COOKIE) ?? "";
  const field = one(p.csrf) ?? "";
  if (!cookie || !timingSafeEqual(cookie, field))
    throw new HttpError(403, "The form expired; reload the page", "csrf");
  const r = await validate(c, p);
  const oob = r.redirectUri === OOB;
  if (one(p.decision) !== "approve") {
    const params: Record<string, string> = {
      error: "access_denied",
      error_description: "The owner denied access",
    };
    if (r.state) params.state = r.state;
    return oob ? c.text("Access denied.", 403) : c.redirect(withParams(r.redirectUri, params), 302);
  }
  const login = await checkOwnerPassword(c.var.ctx, one(p.password) ?? "", c.req.header("cf-connecting-ip"));
  if (login.kind === "locked") {
    c.header("retry-after", String(login.retryAfterSeconds));
    const wait = inWords(login.retryAfterSeconds);
    return page(c, r, cookie, `Too many failed attempts; try again in ${wait}.`, 429);
  }
  if (login.kind !== "ok") return page(c, r, cookie, "That password is not right.", 401);
  const code = randomToken();
  await c.var.ctx.db.insert(oauthCodes).values({
    codeHash: await sha256Hex(code),
    appId: r.app.id,
    scopes: r.scopes.join(" "),
    redirectUri: r.redirectUri,
    codeChallenge: r.codeChallenge ?? null,
    codeChallengeMethod: r.codeChallengeMethod ?? null,
    expiresAt: new Date(Date.now() + CODE_TTL_MS).toISOString(),
  });
  if (oob) {
    return c.html(
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <title>Authorization code</title>
          </head>
          <body style="font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto">
            <h1>Authorization code</h1>
            <p>Copy this code into ${r.app.name}:</p>
            <p><code id="code" style="font-size:1.2rem">${code}</code></p>
          </body>
        </html>`,
    );
  }
  const params: Record<string, string> = { code };
  if (r.state) params.state = r.state;
  return c.redirect(withParams(r.redirectUri, params), 302);
});
