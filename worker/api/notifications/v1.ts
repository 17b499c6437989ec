import { Hono } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../../app";
import { notifications } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { p, parseWith, readInput } from "../input";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "../pagination";
import {
  ListParams,
  visibleWhere,
  presentNotifications,
  findNotification,
  read,
  write,
  unreadWhere,
} from "./shared";

/** Notifications one by one. https://docs.joinmastodon.org/methods/notifications/ */
export const notificationsV1 = new Hono<AppEnv>();

notificationsV1.get("/api/v1/notifications", read, async (c) => {
  const ctx = c.var.ctx;
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const q = parseWith(ListParams, await readInput(c));
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(await visibleWhere(ctx, q), pageWhere(notifications.id, page)))
    .orderBy(pageOrder(notifications.id, page))
    .limit(page.limit);
  const ordered = pageRows(rows, page);
  setLink(
    c,
    ordered.map((r) => r.id),
  );
  return c.json(await presentNotifications(ctx, ordered));
});

/** Unread: newer than the notifications marker. */

notificationsV1.get("/api/v1/notifications/unread_count", read, async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(ListParams.extend({ limit: p.int(1, 1000).optional() }), await readInput(c));
  const limit = q.limit ?? 100;
  const rows = await ctx.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(await visibleWhere(ctx, q), await unreadWhere(ctx)))
    .orderBy(desc(notifications.id))
    .limit(limit);
  return c.json({ count: rows.length });
});

/** Filtered-notification requests: Perch does not filter notifications, so there are none. */
notificationsV1.get("/api/v1/notifications/requests", read, (c) => c.json([]));
notificationsV1.get("/api/v1/notifications/requests/merged", read, (c) => c.json({ merged: true }));

notificationsV1.post("/api/v1/notifications/clear", write, async (c) => {
  await c.var.ctx.db.delete(notifications);
  return c.json({});
});

notificationsV1.get("/api/v1/notifications/:id", read, async (c) => {
  const ctx = c.var.ctx;
  const row = await findNotification(ctx, c.req.param("id"));
  const [out] = await presentNotifications(ctx, [row]);
  if (!out) throw notFound();
  return c.json(out);
});

notificationsV1.post("/api/v1/notifications/:id/dismiss", write, async (c) => {
  const ctx = c.var.ctx;
  const row = await findNotification(ctx, c.req.param("id"));
  await ctx.db.delete(notifications).where(eq(notifications.id, row.id));
  return c.json({});
});

// Mastodon 3.x's form of dismiss.
notificationsV1.post("/api/v1/notifications/dismiss", write, async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(z.object({ id: p.id() }), await readInput(c));
  const row = await findNotification(ctx, q.id);
  await ctx.db.delete(notifications).where(eq(notifications.id, row.id));
  return c.json({});
});
