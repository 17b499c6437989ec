import type { MiddlewareHandler } from "hono";
import { eq } from "drizzle-orm";
import type { AppEnv } from "../app";
import { oauthTokens } from "../db/schema";
import { HttpError } from "../lib/errors";
import { allows } from "./scopes";
import { sha256Hex } from "./secrets";

export interface TokenInfo {
  appId: string;
  scopes: string[];
  userToken: boolean;
}

const invalidToken = () =>
  new HttpError(401, "The access token is invalid", "invalid_token", {
    "www-authenticate": 'Bearer error="invalid_token"',
  });

/**
 * Requires a bearer token with `scope` (or any valid token when `scope` is null). A missing or
 * unknown token is 401, a token without the scope is 403, and an app-only token (client_credentials)
 * is 422 where a user is needed, as on Mastodon.
 */
export function requireToken(scope: string | null, opts: { user?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
    if (!match) throw invalidToken();
    // Nearly every API route needs the owner next: load it while the token is looked up, so the two
    // reads overlap. (A failure surfaces where the route awaits it; here it is only observed.)
    c.var.ctx.instance().catch(() => undefined);
    const hash = await sha256Hex(match[1] as string);
    const row = (
      await c.var.ctx.db.select().from(oauthTokens).where(eq(oauthTokens.tokenHash, hash)).limit(1)
    )[0];
    if (!row) throw invalidToken();
    const token: TokenInfo = { appId: row.appId, scopes: row.scopes.split(" "), userToken: row.userToken };
    if (scope && !allows(token.scopes, scope)) {
      throw new HttpError(403, "This action is outside the authorized scopes", "insufficient_scope");
    }
    if (opts.user && !token.userToken)
      throw new HttpError(422, "This method requires an authenticated user", "no_user");
    c.set("token", token);
    // When a token was last used (the instance activity's logins), written at most once an hour and
    // after the response, so it costs the request nothing.
    if (!row.lastUsedAt || Date.now() - Date.parse(row.lastUsedAt) > 3600_000) {
      const db = c.var.ctx.db;
      c.var.ctx.waitUntil(
        db
          .update(oauthTokens)
          .set({ lastUsedAt: new Date().toISOString() })
          .where(eq(oauthTokens.tokenHash, hash))
          .then(
            () => undefined,
            (e: unknown) => console.error("could not record token use", e),
          ),
      );
    }
    await next();
  };
}
