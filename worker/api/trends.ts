import { Hono, type Context } from "hono";
import type { AppEnv } from "../app";
import { presentTags } from "../services/tags";
import { trendingStatuses, trendingTagNames } from "../services/trends";
import { presentStatuses } from "./entities/status";
import { readPage, setOffsetLink } from "./pagination";

/**
 * Trends, computed from the statuses Perch stores (see services/trends.ts); public, as on Mastodon.
 * https://docs.joinmastodon.org/methods/trends/
 */
export const trendsApi = new Hono<AppEnv>();

async function tags(c: Context<AppEnv>) {
  const page = readPage(c, { defaultLimit: 10, maxLimit: 20 });
  const names = await trendingTagNames(c.var.ctx, { limit: page.limit, offset: page.offset ?? 0 });
  setOffsetLink(c, page, names.length);
  return c.json(await presentTags(c.var.ctx, names));
}

trendsApi.get("/api/v1/trends/tags", (c) => tags(c));
/** The route Mastodon had before 3.5, still read by some clients. */
trendsApi.get("/api/v1/trends", (c) => tags(c));

trendsApi.get("/api/v1/trends/statuses", async (c) => {
  const page = readPage(c, { defaultLimit: 20, maxLimit: 40 });
  const rows = await trendingStatuses(c.var.ctx, { limit: page.limit, offset: page.offset ?? 0 });
  setOffsetLink(c, page, rows.length);
  return c.json(await presentStatuses(c.var.ctx, rows, { filterContext: "public" }));
});

/**
 * Trending links need preview cards (title, description, image of each linked page), which Perch
 * does not fetch: the list is empty rather than made of cards without their content.
 */
trendsApi.get("/api/v1/trends/links", (c) => {
  readPage(c, { defaultLimit: 10, maxLimit: 20 });
  return c.json([]);
});
