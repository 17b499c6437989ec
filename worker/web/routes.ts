import { Hono } from "hono";
import type { AppEnv } from "../app";
import { wantsActivityJson } from "../federation/jsonld";
import { uris } from "../federation/uris";
import { notFound } from "../lib/errors";
import { typedTagName } from "../services/tags";
import { tagPage } from "./pages";

export const pages = new Hono<AppEnv>();

pages.get("/", (c) => c.redirect(uris(c.var.ctx.config).profileUrl, 302));

/**
 * A hashtag's page, for browsers and anything else that is not asking for ActivityStreams (Perch
 * publishes no tag collection: those get the 404). The name is normalized as the tag timeline does.
 */
pages.get("/tags/:name", async (c) => {
  c.header("vary", "Accept");
  if (wantsActivityJson(c.req.header("accept"))) throw notFound();
  const name = typedTagName(c.req.param("name"));
  if (!name) throw notFound();
  const maxId = c.req.query("max_id");
  return c.html(await tagPage(c.var.ctx, name, maxId && /^\d{1,20}$/.test(maxId) ? maxId : undefined));
});
