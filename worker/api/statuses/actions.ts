import { Hono, type Context } from "hono";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../../app";
import type { Status } from "../../db/client";
import { accounts, favourites, statuses } from "../../db/schema";
import { requireToken } from "../../oauth/middleware";
import { bookmark, unbookmark } from "../../services/bookmarks";
import { announce, like, pin, unannounce, unlike, unpin } from "../../services/interactions";
import { hiddenAccountSql } from "../../services/visibility";
import { presentAccounts } from "../entities/account";
import { parseWith, readInput } from "../input";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "../pagination";
import {
  findVisible,
  mutedRoots,
  originalOf,
  ownerViewing,
  presentOne,
  saveMutedRoots,
  threadRootUri,
} from "./common";

/**
 * What the owner does with a status: favourite, boost, bookmark, pin, mute its conversation; and who
 * favourited or boosted it (accounts hidden from the owner left out, as on Mastodon).
 * https://docs.joinmastodon.org/methods/statuses/
 */
export const statusesActions = new Hono<AppEnv>();

/** The status named in the path (for a boost, its original), which the owner can see. */
async function target(c: Context<AppEnv>): Promise<Status> {
  const row = await findVisible(c.var.ctx, c.req.param("id") ?? "", true);
  return originalOf(c.var.ctx, row);
}

const user = { user: true };

/** The status as stored after a write that changed its counts (the counts are on the row). */
async function reread(c: Context<AppEnv>, s: Status): Promise<Status> {
  const [row] = await c.var.ctx.db.select().from(statuses).where(eq(statuses.id, s.id)).limit(1);
  return row ?? s;
}

statusesActions.post("/api/v1/statuses/:id/favourite", requireToken("write:favourites", user), async (c) => {
  const s = await target(c);
  await like(c.var.ctx, s.uri);
  return c.json(await presentOne(c.var.ctx, await reread(c, s)));
});

statusesActions.post(
  "/api/v1/statuses/:id/unfavourite",
  requireToken("write:favourites", user),
  async (c) => {
    const s = await target(c);
    await unlike(c.var.ctx, s.uri);
    return c.json(await presentOne(c.var.ctx, await reread(c, s)));
  },
);

const ReblogParams = z.object({
  visibility: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.enum(["public", "unlisted", "private"]).optional(),
  ),
});

statusesActions.post("/api/v1/statuses/:id/reblog", requireToken("write:statuses", user), async (c) => {
  const s = await target(c);
  const { visibility } = parseWith(ReblogParams, await readInput(c));
  const boost = await announce(c.var.ctx, s.uri, visibility ?? "public");
  return c.json(await presentOne(c.var.ctx, boost));
});

statusesActions.post("/api/v1/statuses/:id/unreblog", requireToken("write:statuses", user), async (c) => {
  const s = await target(c);
  await unannounce(c.var.ctx, s.uri);
  return c.json(await presentOne(c.var.ctx, await reread(c, s)));
});

statusesActions.post("/api/v1/statuses/:id/bookmark", requireToken("write:bookmarks", user), async (c) => {
  const s = await target(c);
  await bookmark(c.var.ctx, s);
  return c.json(await presentOne(c.var.ctx, s));
});

statusesActions.post("/api/v1/statuses/:id/unbookmark", requireToken("write:bookmarks", user), async (c) => {
  const s = await target(c);
  await unbookmark(c.var.ctx, s.id);
  return c.json(await presentOne(c.var.ctx, s));
});

statusesActions.post("/api/v1/statuses/:id/pin", requireToken("write:accounts", user), async (c) => {
  const row = await findVisible(c.var.ctx, c.req.param("id"), true);
  await pin(c.var.ctx, row);
  return c.json(await presentOne(c.var.ctx, row));
});

statusesActions.post("/api/v1/statuses/:id/unpin", requireToken("write:accounts", user), async (c) => {
  const row = await findVisible(c.var.ctx, c.req.param("id"), true);
  await unpin(c.var.ctx, row);
  return c.json(await presentOne(c.var.ctx, row));
});

statusesActions.post("/api/v1/statuses/:id/mute", requireToken("write:mutes", user), async (c) => {
  const s = await target(c);
  const roots = await mutedRoots(c.var.ctx);
  roots.add(await threadRootUri(c.var.ctx, s));
  await saveMutedRoots(c.var.ctx, roots);
  return c.json(await presentOne(c.var.ctx, s));
});

statusesActions.post("/api/v1/statuses/:id/unmute", requireToken("write:mutes", user), async (c) => {
  const s = await target(c);
  const roots = await mutedRoots(c.var.ctx);
  if (roots.delete(await threadRootUri(c.var.ctx, s))) await saveMutedRoots(c.var.ctx, roots);
  return c.json(await presentOne(c.var.ctx, s));
});

/** Accounts in the order of their rows, newest first, with the Link header over the rows' ids. */
async function accountPage(c: Context<AppEnv>, rows: { id: string; accountId: string }[]) {
  const ctx = c.var.ctx;
  const ids = [...new Set(rows.map((r) => r.accountId))];
  const found = ids.length ? await ctx.db.select().from(accounts).where(inArray(accounts.id, ids)) : [];
  const presented = await presentAccounts(ctx, found);
  setLink(
    c,
    rows.map((r) => r.id),
  );
  return c.json(rows.map((r) => presented.get(r.accountId)).filter((a) => a !== undefined));
}

statusesActions.get("/api/v1/statuses/:id/favourited_by", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c, "read:accounts");
  const s = await originalOf(ctx, await findVisible(ctx, c.req.param("id"), owner));
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const ownerId = (await ctx.instance()).owner.id;
  const rows = await ctx.db
    .select({ id: favourites.id, accountId: favourites.accountId })
    .from(favourites)
    .where(
      and(
        eq(favourites.statusId, s.id),
        isNull(favourites.emoji),
        sql`NOT ${hiddenAccountSql(ownerId, favourites.accountId)}`,
        pageWhere(favourites.id, page),
      ),
    )
    .orderBy(pageOrder(favourites.id, page))
    .limit(page.limit);
  return accountPage(c, pageRows(rows, page));
});

statusesActions.get("/api/v1/statuses/:id/reblogged_by", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c, "read:accounts");
  const s = await originalOf(ctx, await findVisible(ctx, c.req.param("id"), owner));
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const ownerId = (await ctx.instance()).owner.id;
  const rows = await ctx.db
    .select({ id: statuses.id, accountId: statuses.accountId })
    .from(statuses)
    .where(
      and(
        eq(statuses.reblogOfId, s.id),
        isNull(statuses.deletedAt),
        sql`NOT ${hiddenAccountSql(ownerId, statuses.accountId)}`,
        pageWhere(statuses.id, page),
      ),
    )
    .orderBy(pageOrder(statuses.id, page))
    .limit(page.limit);
  return accountPage(c, pageRows(rows, page));
});
