import { Hono } from "hono";
import { eq } from "drizzle-orm";
import type { AppEnv } from "../app";
import { oauthApps } from "../db/schema";
import { unprocessable } from "../lib/errors";
import { newId } from "../lib/ids";
import { requireToken } from "./middleware";
import { one, readParams } from "./params";
import { splitRedirectUris, validRedirectUri } from "./redirects";
import { parseScopes } from "./scopes";
import { randomToken, sha256Hex } from "./secrets";

/**
 * Client registration. https://docs.joinmastodon.org/methods/apps/
 */
export const apps = new Hono<AppEnv>();

apps.post("/api/v1/apps", async (c) => {
  const p = await readParams(c);
  const name = one(p.client_name)?.trim();
  if (!name) throw unprocessable("Validation failed: Application name can't be blank");
  if (name.length > 100) throw unprocessable("Validation failed: Application name is too long");
  const redirectUris = splitRedirectUris(p.redirect_uris);
  if (redirectUris.length === 0) throw unprocessable("Validation failed: Redirect URI can't be blank");
  if (redirectUris.length > 10 || !redirectUris.every(validRedirectUri)) {
    throw unprocessable("Validation failed: Redirect URI must be an absolute URI.");
  }
  const scopes = parseScopes(one(p.scopes));
  if (!scopes) throw unprocessable("Validation failed: Scopes are not valid");
  const website = one(p.website)?.trim() || null;
  if (website && !/^https?:\/\/\S+$/i.test(website))
    throw unprocessable("Validation failed: Website is invalid");
  const clientId = randomToken();
  const clientSecret = randomToken();
  const id = newId();
  await c.var.ctx.db.insert(oauthApps).values({
    id,
    name,
    website,
    redirectUris,
    scopes: scopes.join(" "),
    clientId,
    clientSecretHash: await sha256Hex(clientSecret),
  });
  return c.json({
    id,
    name,
    website,
    scopes,
    redirect_uri: redirectUris.join("\n"),
    redirect_uris: redirectUris,
    client_id: clientId,
    client_secret: clientSecret,
    client_secret_expires_at: 0,
    vapid_key: "",
  });
});

apps.get("/api/v1/apps/verify_credentials", requireToken(null), async (c) => {
  const token = c.var.token;
  const app = (await c.var.ctx.db.select().from(oauthApps).where(eq(oauthApps.id, token.appId)).limit(1))[0];
  if (!app) throw unprocessable("Application not found");
  return c.json({
    id: app.id,
    name: app.name,
    website: app.website,
    scopes: app.scopes.split(" "),
    redirect_uri: app.redirectUris.join("\n"),
    redirect_uris: app.redirectUris,
    vapid_key: "",
  });
});
