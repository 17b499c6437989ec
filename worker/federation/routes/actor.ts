import { Hono } from "hono";
import type { AppEnv } from "../../app";
import { notFound } from "../../lib/errors";
import { profilePage } from "../../web/pages";
import { renderActor, renderInstanceActor } from "../actor";
import { AS_CONTEXT } from "../jsonld";
import { uris } from "../uris";
import { activityJson, negotiate } from "./respond";

/** The owner's actor document (or profile page, by content negotiation) and the instance actor. */
export const actorRoutes = new Hono<AppEnv>();

actorRoutes.get("/users/:username", async (c) => {
  const ctx = c.var.ctx;
  if (c.req.param("username").toLowerCase() !== ctx.config.username.toLowerCase()) throw notFound();
  const local = await ctx.instance();
  if (negotiate(c) === "html") return c.redirect(uris(ctx.config).profileUrl, 302);
  return activityJson(c, renderActor(ctx.config, local));
});

actorRoutes.get("/actor", async (c) => {
  const ctx = c.var.ctx;
  return activityJson(c, renderInstanceActor(ctx.config, await ctx.instance()));
});

/** The instance actor publishes nothing: an empty outbox. */
actorRoutes.get("/actor/outbox", (c) =>
  activityJson(c, {
    "@context": AS_CONTEXT,
    id: `${uris(c.var.ctx.config).instanceActor}/outbox`,
    type: "OrderedCollection",
    totalItems: 0,
    orderedItems: [],
  }),
);

actorRoutes.get("/:handle{@[A-Za-z0-9_]+}", async (c) => {
  const ctx = c.var.ctx;
  if (c.req.param("handle").slice(1).toLowerCase() !== ctx.config.username.toLowerCase()) throw notFound();
  const local = await ctx.instance();
  if (negotiate(c) === "json") return activityJson(c, renderActor(ctx.config, local));
  return c.html(await profilePage(ctx, local));
});
