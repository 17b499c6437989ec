import { Hono } from "hono";
import { cors } from "hono/cors";
import { ConfigError, readConfig } from "./config";
import { createCtx, type Ctx } from "./context";
import { meterInvocation } from "./services/usage";
import type { Bindings } from "./env";
import { actorRoutes } from "./federation/routes/actor";
import { collections } from "./federation/routes/collections";
import { inbox } from "./federation/routes/inbox";
import { objects } from "./federation/routes/objects";
import { wellKnown } from "./federation/routes/well-known";
import { HttpError } from "./lib/errors";
import { accountsApi } from "./api/accounts";
import { instanceApi } from "./api/instance";
import { statusesApi } from "./api/statuses";
import { mediaApi } from "./api/media";
import { profileApi } from "./api/profile";
import { searchApi } from "./api/search";
import { timelinesApi } from "./api/timelines";
import { notificationsApi } from "./api/notifications";
import { markersApi } from "./api/markers";
import { conversationsApi } from "./api/conversations";
import { listsApi } from "./api/lists";
import { filtersApi } from "./api/filters";
import { tagsApi } from "./api/tags";
import { trendsApi } from "./api/trends";
import { relationshipsApi } from "./api/relationships";
import { miscApi } from "./api/misc";
import { apps } from "./oauth/apps";
import { authorize } from "./oauth/authorize";
import type { TokenInfo } from "./oauth/middleware";
import { token } from "./oauth/token";
import { mapServiceError, ownerApi } from "./owner/routes";
import { IdentityLockedError } from "./services/instance";
import { browserPages } from "./web/browser";
import { mediaProxy } from "./web/media-proxy";
import { importWeb } from "./web/imports";
import { ownerWeb } from "./web/owner-pages";
import { relayWeb } from "./web/relays";
import { movingWeb } from "./web/moving";
import { dashboardWeb } from "./web/dashboard";
import { archiveWeb } from "./web/archive";
import { archiveExportWeb } from "./web/archive-export";
import type { OwnerSession } from "./web/session";
import { pages } from "./web/routes";

export interface AppEnv {
  Bindings: Bindings;
  /** `ownerSession` is set behind the owner's web login (worker/web/session.ts). */
  Variables: { ctx: Ctx; token: TokenInfo; ownerSession?: OwnerSession };
}

export function createApp() {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    let execution: { waitUntil(p: Promise<unknown>): void } | undefined;
    try {
      execution = c.executionCtx;
    } catch {
      execution = undefined; // called without one (app.request in a script)
    }
    // Every request is metered (services/usage.ts): what it costs in D1, R2, Queues and subrequests.
    await meterInvocation(c.env, "request", execution && ((p) => execution.waitUntil(p)), async () => {
      const config = readConfig(c.env, new URL(c.req.url).host);
      c.set("ctx", createCtx(c.env, config, execution));
      await next();
    });
  });
  // HTML 404s for browsers and anti-framing headers on every page.
  app.use(browserPages);

  // Browser clients (Elk, Phanpy, Mastodon's own web app elsewhere) call the API cross-origin, as
  // Mastodon allows for these paths.
  const apiCors = cors({
    origin: "*",
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Accept"],
    exposeHeaders: ["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
    maxAge: 86400,
  });
  for (const path of ["/api/*", "/oauth/token", "/oauth/revoke", "/nodeinfo/*", "/.well-known/*"]) {
    app.use(path, apiCors);
  }

  app.route("/", wellKnown);
  app.route("/", inbox);
  app.route("/", actorRoutes);
  app.route("/", collections);
  app.route("/", objects);
  app.route("/", ownerApi);
  app.route("/", apps);
  app.route("/", authorize);
  app.route("/", token);
  app.route("/", instanceApi);
  app.route("/", profileApi);
  app.route("/", accountsApi);
  app.route("/", statusesApi);
  app.route("/", mediaProxy);
  app.route("/", mediaApi);
  app.route("/", searchApi);
  app.route("/", timelinesApi);
  app.route("/", notificationsApi);
  app.route("/", markersApi);
  app.route("/", conversationsApi);
  app.route("/", listsApi);
  app.route("/", filtersApi);
  app.route("/", tagsApi);
  app.route("/", trendsApi);
  app.route("/", relationshipsApi);
  app.route("/", miscApi);
  // Before ownerWeb: its CSRF check reads a form, and an upload's size is checked before that.
  app.route("/", importWeb);
  app.route("/", ownerWeb);
  app.route("/", relayWeb);
  app.route("/", movingWeb);
  app.route("/", dashboardWeb);
  app.route("/", archiveWeb);
  app.route("/", archiveExportWeb);
  app.route("/", pages);

  app.notFound((c) => c.json({ error: "Record not found" }, 404));

  app.onError((thrown, c) => {
    const err = mapServiceError(thrown);
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ error: err.message }, err.status as 400);
    }
    if (err instanceof ConfigError || err instanceof IdentityLockedError) {
      console.error(err.message);
      return c.json({ error: err.message }, err instanceof ConfigError ? 500 : 503);
    }
    console.error("unhandled error", err);
    return c.json({ error: "Internal server error" }, 500);
  });

  return app;
}
