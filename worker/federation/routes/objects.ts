import { Hono, type Context } from "hono";
import { and, eq } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Status } from "../../db/client";
import { statuses } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { statusPage } from "../../web/pages";
import { renderAnnounce, renderCreate, renderNote, renderTombstone, withContext } from "../note";
import { uris } from "../uris";
import { activityJson, negotiate } from "./respond";

/**
 * Each local post's object URL (Note JSON or its HTML page), its Create activity, and a 410 Tombstone
 * once deleted. Followers-only and direct posts are not served to anonymous fetches.
 */
export const objects = new Hono<AppEnv>();

async function findLocal(c: Context<AppEnv>, username: string, id: string): Promise<Status> {
  const ctx = c.var.ctx;
  if (username.toLowerCase() !== ctx.config.username.toLowerCase() || !/^\d{1,20}$/.test(id))
    throw notFound();
  const { owner } = await ctx.instance();
  const row = (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.id, id), eq(statuses.accountId, owner.id)))
      .limit(1)
  )[0];
  if (!row) throw notFound();
  if (!row.deletedAt && row.visibility !== "public" && row.visibility !== "unlisted") throw notFound();
  return row;
}

async function serveObject(c: Context<AppEnv>, row: Status, asActivity: boolean) {
  const ctx = c.var.ctx;
  if (row.deletedAt) return activityJson(c, renderTombstone(row), 410);
  if (row.reblogOfId) {
    const target = await ctx.db
      .select({ uri: statuses.uri })
      .from(statuses)
      .where(eq(statuses.id, row.reblogOfId))
      .limit(1);
    return activityJson(c, withContext(renderAnnounce(ctx.config, row, target[0]?.uri ?? "")));
  }
  return activityJson(
    c,
    withContext(asActivity ? renderCreate(ctx.config, row) : renderNote(ctx.config, row)),
  );
}

objects.get("/users/:username/statuses/:id", async (c) => {
  const row = await findLocal(c, c.req.param("username"), c.req.param("id"));
  if (negotiate(c) === "html") return c.redirect(uris(c.var.ctx.config).statusUrl(row.id), 302);
  return serveObject(c, row, false);
});

objects.get("/users/:username/statuses/:id/activity", async (c) => {
  const row = await findLocal(c, c.req.param("username"), c.req.param("id"));
  return serveObject(c, row, true);
});

objects.get("/:handle{@[A-Za-z0-9_]+}/:id{[0-9]+}", async (c) => {
  const row = await findLocal(c, c.req.param("handle").slice(1), c.req.param("id"));
  if (negotiate(c) === "json") return serveObject(c, row, false);
  if (row.deletedAt) return c.html(await statusPage(c.var.ctx, row), 410);
  return c.html(await statusPage(c.var.ctx, row));
});
