import { Hono } from "hono";
import { ConfigError, readConfig } from "./config";
import { createCtx, type Ctx } from "./context";
import type { Bindings } from "./env";
import { actorRoutes } from "./federation/routes/actor";
import { collections } from "./federation/routes/collections";
import { inbox } from "./federation/routes/inbox";
import { objects } from "./federation/routes/objects";
import { wellKnown } from "./federation/routes/well-known";
import { HttpError } from "./lib/errors";
import { accountsApi } from "./api/accounts";
import { instanceApi } from "./api/instance";
import { apps } from "./oauth/apps";
import { authorize } from "./oauth/authorize";
import type { TokenInfo } from "./oauth/middleware";
import { token } from "./oauth/token";
import { mapServiceError, ownerApi } from "./owner/routes";
import { IdentityLockedError } from "./services/instance";
import { pages } from "./web/routes";

export interface AppEnv {
  Bindings: Bindings;
  Variables: { ctx: Ctx; token: TokenInfo };
}

export function createApp() {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const config = readConfig(c.env, new URL(c.req.url).host);
    c.set("ctx", createCtx(c.env, config, c.executionCtx));
    await next();
  });

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
  app.route("/", accountsApi);
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
