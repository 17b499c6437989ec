import { Hono, type Context } from "hono";
import { and, eq } from "drizzle-orm";
import type { AppEnv } from "../app";
import { oauthApps, oauthTokens } from "../db/schema";
import { uris } from "../federation/uris";
import { claimCode, revokeReplayedCode, storeCodeToken } from "./codes";
import { basicCredentials } from "./basic-auth";
import { one, readParams } from "./params";
import { parseScopes, within } from "./scopes";
import { pkceMatches, randomToken, sha256Hex, timingSafeEqual } from "./secrets";

/**
 * Token endpoint (authorization_code with PKCE, client_credentials), revocation, and the RFC 8414
 * metadata document. Errors use OAuth's `{ error, error_description }` shape.
 * https://docs.joinmastodon.org/methods/oauth/#token
 */
export const token = new Hono<AppEnv>();

function oauthError(c: Context<AppEnv>, status: 400 | 401, error: string, description: string) {
  return c.json({ error, error_description: description }, status);
}

type App = typeof oauthApps.$inferSelect;

async function findApp(c: Context<AppEnv>, clientId: string | undefined): Promise<App | undefined> {
  if (!clientId) return undefined;
  return (await c.var.ctx.db.select().from(oauthApps).where(eq(oauthApps.clientId, clientId)).limit(1))[0];
}

async function secretMatches(app: App, secret: string | undefined): Promise<boolean> {
  return !!secret && timingSafeEqual(await sha256Hex(secret), app.clientSecretHash);
}

/** Client credentials from the body, or from HTTP Basic auth (RFC 6749 §2.3.1). */
function clientCredentials(c: Context<AppEnv>, p: Record<string, string | string[]>) {
  const header = c.req.header("authorization");
  if (header && /^Basic\s/i.test(header)) {
    // RFC 6749 §2.3.1: the client id and secret are form-urlencoded before Basic encoding.
    const basic = basicCredentials(header);
    try {
      if (basic)
        return { clientId: decodeURIComponent(basic.user), clientSecret: decodeURIComponent(basic.password) };
    } catch {
      // a malformed escape: no credentials
    }
    return { clientId: undefined, clientSecret: undefined };
  }
  return { clientId: one(p.client_id), clientSecret: one(p.client_secret) };
}

/** The token response (RFC 6749 §5.1), for a token already stored. */
function tokenResponse(c: Context<AppEnv>, accessToken: string, scopes: string[]) {
  c.header("cache-control", "no-store");
  return c.json({
    access_token: accessToken,
    token_type: "Bearer",
    scope: scopes.join(" "),
    created_at: Math.floor(Date.now() / 1000),
  });
}

const badCode = (c: Context<AppEnv>) =>
  oauthError(c, 400, "invalid_grant", "The authorization code is invalid, expired or already used.");

token.post("/oauth/token", async (c) => {
  const p = await readParams(c);
  const { clientId, clientSecret } = clientCredentials(c, p);
  const app = await findApp(c, clientId);
  if (!app)
    return oauthError(c, 401, "invalid_client", "Client authentication failed due to unknown client.");
  const grant = one(p.grant_type);

  if (grant === "client_credentials") {
    if (!(await secretMatches(app, clientSecret)))
      return oauthError(c, 401, "invalid_client", "Client authentication failed.");
    const scopes = parseScopes(one(p.scope), "read");
    if (!scopes || !within(scopes, app.scopes.split(" ")))
      return oauthError(c, 400, "invalid_scope", "The requested scope is invalid.");
    const accessToken = randomToken();
    await c.var.ctx.db.insert(oauthTokens).values({
      tokenHash: await sha256Hex(accessToken),
      appId: app.id,
      scopes: scopes.join(" "),
      userToken: false,
    });
    return tokenResponse(c, accessToken, scopes);
  }

  if (grant === "authorization_code") {
    const code = one(p.code);
    if (!code) return oauthError(c, 400, "invalid_request", "code is required.");
    const codeHash = await sha256Hex(code);
    const accessToken = randomToken();
    const tokenHash = await sha256Hex(accessToken);
    // Claiming the code names the token before any check, so that a replay arriving at any moment
    // after this finds it to revoke.
    const row = await claimCode(c.var.ctx, codeHash, app.id, tokenHash);
    if (!row) {
      await revokeReplayedCode(c.var.ctx, codeHash, app.id);
      return badCode(c);
    }
    if (Date.parse(row.expiresAt) < Date.now()) return badCode(c);
    const redirectUri = one(p.redirect_uri);
    if (redirectUri && redirectUri !== row.redirectUri)
      return oauthError(c, 400, "invalid_grant", "redirect_uri does not match.");
    if (row.codeChallenge) {
      const verifier = one(p.code_verifier);
      if (
        !verifier ||
        !(await pkceMatches(verifier, row.codeChallenge, row.codeChallengeMethod ?? "plain"))
      ) {
        return oauthError(c, 400, "invalid_grant", "code_verifier does not match the code challenge.");
      }
    } else if (!(await secretMatches(app, clientSecret))) {
      return oauthError(c, 401, "invalid_client", "Client authentication failed.");
    }
    if (!(await storeCodeToken(c.var.ctx, codeHash, tokenHash))) return badCode(c);
    return tokenResponse(c, accessToken, row.scopes.split(" "));
  }

  return oauthError(
    c,
    400,
    "unsupported_grant_type",
    "grant_type must be authorization_code or client_credentials.",
  );
});

token.post("/oauth/revoke", async (c) => {
  const p = await readParams(c);
  const { clientId, clientSecret } = clientCredentials(c, p);
  const app = await findApp(c, clientId);
  if (!app || !(await secretMatches(app, clientSecret))) {
    return c.json(
      { error: "unauthorized_client", error_description: "You are not authorized to revoke this token" },
      403,
    );
  }
  const value = one(p.token);
  if (value) {
    const hash = await sha256Hex(value);
    await c.var.ctx.db
      .delete(oauthTokens)
      .where(and(eq(oauthTokens.tokenHash, hash), eq(oauthTokens.appId, app.id)));
  }
  return c.json({});
});

token.get("/.well-known/oauth-authorization-server", (c) => {
  const base = uris(c.var.ctx.config).base;
  return c.json({
    issuer: `${base}/`,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    app_registration_endpoint: `${base}/api/v1/apps`,
    scopes_supported: ["read", "write", "follow", "push", "profile"],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    code_challenge_methods_supported: ["S256", "plain"],
    service_documentation: "https://docs.joinmastodon.org/",
  });
});
