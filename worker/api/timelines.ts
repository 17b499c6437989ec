import { Hono, type Context } from "hono";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { Status } from "../db/client";
import { lists } from "../db/schema";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import type { FilterContext } from "../services/filters";
import { homeTimeline, listTimeline, publicTimeline, tagTimeline } from "../services/timelines";
import { mergePages, relayTimeline } from "../services/relay-posts";
import { presentStatuses } from "./entities/status";
import { p, parseWith, readInput } from "./input";
import { readPage, setLink } from "./pagination";

/**
 * Timelines: home, public, hashtag, list and link.
 * https://docs.joinmastodon.org/methods/timelines/
 */
export const timelinesApi = new Hono<AppEnv>();

const ID = /^\d{1,20}$/;

async function respond(c: Context<AppEnv>, rows: Status[], filterContext: FilterContext) {
  setLink(
    c,
    rows.map((r) => r.id),
  );
  return c.json(await presentStatuses(c.var.ctx, rows, { filterContext }));
}

timelinesApi.get("/api/v1/timelines/home", requireToken("read:statuses", { user: true }), async (c) => {
  const page = readPage(c);
  return respond(c, await homeTimeline(c.var.ctx, page), "home");
});

const PublicParams = z.object({
  local: p.bool().optional(),
  remote: p.bool().optional(),
  only_media: p.bool().optional(),
});

timelinesApi.get("/api/v1/timelines/public", async (c) => {
  const page = readPage(c);
  const q = parseWith(PublicParams, await readInput(c));
  const opts = { local: q.local ?? false, remote: q.remote ?? false, onlyMedia: q.only_media ?? false };
  const [rows, relayed] = await Promise.all([
    publicTimeline(c.var.ctx, page, opts),
    // Relayed posts are remote: they belong to the federated timeline, not the local one.
    opts.local ? [] : relayTimeline(c.var.ctx, page, { onlyMedia: opts.onlyMedia }),
  ]);
  return respond(c, mergePages(rows, relayed, page), "public");
});

const TagName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N}_\p{M}·]+$/u, "is not a hashtag");

const TagParams = PublicParams.extend({
  any: p.list(TagName, 20).optional(),
  all: p.list(TagName, 20).optional(),
  none: p.list(TagName, 20).optional(),
});

timelinesApi.get("/api/v1/timelines/tag/:hashtag", async (c) => {
  const page = readPage(c);
  // Hono has decoded the path parameter already: decoding again would fail on a literal "%".
  const tag = c.req.param("hashtag").replace(/^#/, "");
  if (!TagName.safeParse(tag).success) return c.json([]);
  const q = parseWith(TagParams, await readInput(c));
  const opts = {
    local: q.local ?? false,
    remote: q.remote ?? false,
    onlyMedia: q.only_media ?? false,
    any: q.any ?? [],
    all: q.all ?? [],
    none: q.none ?? [],
  };
  const [rows, relayed] = await Promise.all([
    tagTimeline(c.var.ctx, tag, page, opts),
    opts.local
      ? []
      : relayTimeline(c.var.ctx, page, {
          anyTags: [tag, ...opts.any],
          allTags: opts.all,
          noneTags: opts.none,
          onlyMedia: opts.onlyMedia,
        }),
  ]);
  return respond(c, mergePages(rows, relayed, page), "public");
});

timelinesApi.get("/api/v1/timelines/list/:list_id", requireToken("read:lists", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const id = c.req.param("list_id");
  if (!ID.test(id)) throw notFound();
  const list = (await ctx.db.select().from(lists).where(eq(lists.id, id)).limit(1))[0];
  if (!list) throw notFound();
  const page = readPage(c);
  return respond(c, await listTimeline(ctx, list, page), "home");
});

/**
 * Statuses sharing a link (Mastodon shows them for trending links). Perch keeps no preview cards,
 * so no status is known to share a link: the answer is an empty page.
 */
timelinesApi.get("/api/v1/timelines/link", requireToken("read:statuses", { user: true }), async (c) => {
  const q = parseWith(z.object({ url: p.str(2000) }), await readInput(c));
  try {
    new URL(q.url);
  } catch {
    return c.json({ error: "Validation failed: url: is not a URL" }, 422);
  }
  readPage(c);
  return c.json([]);
});
