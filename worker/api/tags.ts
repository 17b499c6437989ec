import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../app";
import { followedTags } from "../db/schema";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { featureTag } from "../services/featured-tags";
import { followTag, typedTagName, presentTags, unfeatureTagByName, unfollowTag } from "../services/tags";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "./pagination";

/**
 * Hashtags: their information, following and featuring them.
 * https://docs.joinmastodon.org/methods/tags/ and https://docs.joinmastodon.org/methods/followed_tags/
 */
export const tagsApi = new Hono<AppEnv>();

/** A token is optional, but one that is sent must be valid (as Mastodon answers a bad token). */
export const optionalToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.header("authorization")) return next();
  return requireToken(null)(c, next);
};

/** The path's tag name, normalized; a name that cannot be a hashtag names no record. */
function tagName(raw: string): string {
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw notFound();
  }
  const name = typedTagName(decoded);
  if (!name) throw notFound();
  return name;
}

async function tagEntity(c: { var: AppEnv["Variables"] }, name: string, withUser: boolean) {
  const [tag] = await presentTags(c.var.ctx, [name]);
  if (!tag) throw notFound();
  if (withUser) return tag;
  // Who the owner follows and features is not shown to anonymous callers, as on Mastodon.
  const { following: _f, featuring: _g, ...rest } = tag;
  return rest;
}

tagsApi.get("/api/v1/tags/:name", optionalToken, async (c) => {
  const name = tagName(c.req.param("name"));
  const token = c.get("token") as AppEnv["Variables"]["token"] | undefined;
  return c.json(await tagEntity(c, name, !!token?.userToken));
});

tagsApi.post("/api/v1/tags/:name/follow", requireToken("write:follows", { user: true }), async (c) => {
  const name = tagName(c.req.param("name"));
  await followTag(c.var.ctx, name);
  return c.json(await tagEntity(c, name, true));
});

tagsApi.post("/api/v1/tags/:name/unfollow", requireToken("write:follows", { user: true }), async (c) => {
  const name = tagName(c.req.param("name"));
  await unfollowTag(c.var.ctx, name);
  return c.json(await tagEntity(c, name, true));
});

tagsApi.post("/api/v1/tags/:name/feature", requireToken("write:accounts", { user: true }), async (c) => {
  const name = tagName(c.req.param("name"));
  await featureTag(c.var.ctx, name);
  return c.json(await tagEntity(c, name, true));
});

tagsApi.post("/api/v1/tags/:name/unfeature", requireToken("write:accounts", { user: true }), async (c) => {
  const name = tagName(c.req.param("name"));
  await unfeatureTagByName(c.var.ctx, name);
  return c.json(await tagEntity(c, name, true));
});

tagsApi.get("/api/v1/followed_tags", requireToken("read:follows", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const page = readPage(c, { defaultLimit: 100, maxLimit: 200 });
  const rows = pageRows(
    await ctx.db
      .select()
      .from(followedTags)
      .where(pageWhere(followedTags.id, page))
      .orderBy(pageOrder(followedTags.id, page))
      .limit(page.limit),
    page,
  );
  setLink(
    c,
    rows.map((r) => r.id),
  );
  // presentTags reads at most 90 names a call (D1's bound parameters).
  const names = rows.map((r) => r.name);
  const tags = [];
  for (let i = 0; i < names.length; i += 90) tags.push(...(await presentTags(ctx, names.slice(i, i + 90))));
  return c.json(tags);
});
