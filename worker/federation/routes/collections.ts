import { Hono, type Context } from "hono";
import { and, count, desc, eq, inArray, isNull, lt } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Ctx } from "../../context";
import { accounts, follows, pins, statuses } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { AS_CONTEXT } from "../jsonld";
import { renderAnnounce, renderCreate, renderNote } from "../note";
import { uris } from "../uris";
import { activityJson } from "./respond";

/**
 * The owner's outbox, followers, following and featured collections, paged as Mastodon pages them:
 * the collection names its first page; pages link onwards with `max_id`.
 * https://www.w3.org/TR/activitypub/#collections
 */
export const collections = new Hono<AppEnv>();

const PAGE_SIZE = 20;

function ownerOnly(c: Context<AppEnv>) {
  if (c.req.param("username")?.toLowerCase() !== c.var.ctx.config.username.toLowerCase()) throw notFound();
}

function maxId(c: Context<AppEnv>): string | undefined {
  const v = c.req.query("max_id");
  return v && /^\d{1,20}$/.test(v) ? v : undefined;
}

collections.get("/users/:username/outbox", async (c) => {
  ownerOnly(c);
  const ctx = c.var.ctx;
  const u = uris(ctx.config);
  const { owner } = await ctx.instance();
  const visible = and(
    eq(statuses.accountId, owner.id),
    isNull(statuses.deletedAt),
    inArray(statuses.visibility, ["public", "unlisted"]),
  );
  if (c.req.query("page") === undefined) {
    const [total] = await ctx.db.select({ n: count() }).from(statuses).where(visible);
    return activityJson(c, {
      "@context": AS_CONTEXT,
      id: u.outbox,
      type: "OrderedCollection",
      totalItems: total?.n ?? 0,
      first: `${u.outbox}?page=true`,
    });
  }
  const before = maxId(c);
  const rows = await ctx.db
    .select()
    .from(statuses)
    .where(before ? and(visible, lt(statuses.id, before)) : visible)
    .orderBy(desc(statuses.id))
    .limit(PAGE_SIZE);
  const items = await Promise.all(rows.map((s) => outboxItem(ctx, s)));
  return activityJson(c, page(u.outbox, c.req.url, items, rows.at(-1)?.id, rows.length === PAGE_SIZE));
});

async function outboxItem(ctx: Ctx, s: typeof statuses.$inferSelect) {
  if (!s.reblogOfId) return renderCreate(ctx.config, s);
  const target = await ctx.db
    .select({ uri: statuses.uri })
    .from(statuses)
    .where(eq(statuses.id, s.reblogOfId))
    .limit(1);
  return renderAnnounce(ctx.config, s, target[0]?.uri ?? "");
}

function page(collection: string, self: string, items: unknown[], lastId: string | undefined, more: boolean) {
  return {
    "@context": AS_CONTEXT,
    id: self,
    type: "OrderedCollectionPage",
    partOf: collection,
    orderedItems: items,
    ...(more && lastId ? { next: `${collection}?page=true&max_id=${lastId}` } : {}),
  };
}

/** Followers (accounts following the owner) or following (accounts the owner follows), accepted only. */
function relationshipCollection(direction: "followers" | "following") {
  return async (c: Context<AppEnv>) => {
    ownerOnly(c);
    const ctx = c.var.ctx;
    const u = uris(ctx.config);
    const id = direction === "followers" ? u.followers : u.following;
    const { owner } = await ctx.instance();
    const mine = direction === "followers" ? follows.targetAccountId : follows.accountId;
    const theirs = direction === "followers" ? follows.accountId : follows.targetAccountId;
    const where = and(eq(mine, owner.id), eq(follows.accepted, true));
    if (c.req.query("page") === undefined) {
      const [total] = await ctx.db.select({ n: count() }).from(follows).where(where);
      return activityJson(c, {
        "@context": AS_CONTEXT,
        id,
        type: "OrderedCollection",
        totalItems: total?.n ?? 0,
        first: `${id}?page=true`,
      });
    }
    const before = maxId(c);
    const rows = await ctx.db
      .select({ followId: follows.id, uri: accounts.uri })
      .from(follows)
      .innerJoin(accounts, eq(accounts.id, theirs))
      .where(before ? and(where, lt(follows.id, before)) : where)
      .orderBy(desc(follows.id))
      .limit(PAGE_SIZE * 2);
    const items = rows.map((r) => r.uri);
    return activityJson(c, page(id, c.req.url, items, rows.at(-1)?.followId, rows.length === PAGE_SIZE * 2));
  };
}

collections.get("/users/:username/followers", relationshipCollection("followers"));
collections.get("/users/:username/following", relationshipCollection("following"));

collections.get("/users/:username/collections/featured", async (c) => {
  ownerOnly(c);
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ status: statuses })
    .from(pins)
    .innerJoin(statuses, eq(statuses.id, pins.statusId))
    .where(and(eq(pins.accountId, owner.id), isNull(statuses.deletedAt)))
    .orderBy(desc(pins.createdAt));
  const items = rows.filter((r) => r.status.visibility === "public" || r.status.visibility === "unlisted");
  return activityJson(c, {
    "@context": AS_CONTEXT,
    id: uris(ctx.config).featured,
    type: "OrderedCollection",
    totalItems: items.length,
    orderedItems: items.map((r) => renderNote(ctx.config, r.status)),
  });
});
