import { Hono, type Context } from "hono";
import { and, eq, isNull } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Status } from "../../db/client";
import { bookmarks, favourites, statuses } from "../../db/schema";
import { requireToken } from "../../oauth/middleware";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "../pagination";
import { present } from "./common";

/**
 * The owner's bookmarks and favourites, newest bookmarked/favourited first, paged by the bookmark's
 * or favourite's own id. https://docs.joinmastodon.org/methods/bookmarks/ and /methods/favourites/
 */
export const statusesLists = new Hono<AppEnv>();

async function respond(c: Context<AppEnv>, rows: { pageId: string; status: Status }[]) {
  setLink(
    c,
    rows.map((r) => r.pageId),
  );
  return c.json(
    await present(
      c.var.ctx,
      rows.map((r) => r.status),
    ),
  );
}

statusesLists.get("/api/v1/bookmarks", requireToken("read:bookmarks", { user: true }), async (c) => {
  const page = readPage(c);
  const rows = await c.var.ctx.db
    .select({ pageId: bookmarks.id, status: statuses })
    .from(bookmarks)
    .innerJoin(statuses, eq(statuses.id, bookmarks.statusId))
    .where(and(isNull(statuses.deletedAt), pageWhere(bookmarks.id, page)))
    .orderBy(pageOrder(bookmarks.id, page))
    .limit(page.limit);
  return respond(c, pageRows(rows, page));
});

statusesLists.get("/api/v1/favourites", requireToken("read:favourites", { user: true }), async (c) => {
  const { owner } = await c.var.ctx.instance();
  const page = readPage(c);
  const rows = await c.var.ctx.db
    .select({ pageId: favourites.id, status: statuses })
    .from(favourites)
    .innerJoin(statuses, eq(statuses.id, favourites.statusId))
    .where(
      and(
        eq(favourites.accountId, owner.id),
        isNull(favourites.emoji),
        isNull(statuses.deletedAt),
        pageWhere(favourites.id, page),
      ),
    )
    .orderBy(pageOrder(favourites.id, page))
    .limit(page.limit);
  return respond(c, pageRows(rows, page));
});
