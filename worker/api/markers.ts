import { Hono } from "hono";
import { inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import { markers } from "../db/schema";
import { unprocessable } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { p, parseWith, readInput } from "./input";

/**
 * Read positions in the home timeline and notifications, shared between the owner's clients.
 * https://docs.joinmastodon.org/methods/markers/
 */
export const markersApi = new Hono<AppEnv>();

const TIMELINES = ["home", "notifications"] as const;

type MarkerRow = typeof markers.$inferSelect;

function serializeMarker(m: MarkerRow) {
  return { last_read_id: m.lastReadId, version: m.version, updated_at: m.updatedAt };
}

markersApi.get("/api/v1/markers", requireToken("read:statuses", { user: true }), async (c) => {
  const q = parseWith(z.object({ timeline: p.list(z.string().max(50), 10).optional() }), await readInput(c));
  const wanted = (q.timeline ?? []).filter((t): t is (typeof TIMELINES)[number] =>
    (TIMELINES as readonly string[]).includes(t),
  );
  const out: Record<string, ReturnType<typeof serializeMarker>> = {};
  if (wanted.length === 0) return c.json(out);
  const rows = await c.var.ctx.db.select().from(markers).where(inArray(markers.timeline, wanted));
  for (const r of rows) out[r.timeline] = serializeMarker(r);
  return c.json(out);
});

const MarkerInput = z.object({ last_read_id: p.id() }).passthrough();

markersApi.post("/api/v1/markers", requireToken("write:statuses", { user: true }), async (c) => {
  const input = await readInput(c);
  const ctx = c.var.ctx;
  const updates: { timeline: string; lastReadId: string }[] = [];
  for (const timeline of TIMELINES) {
    if (input[timeline] === undefined) continue;
    const m = parseWith(z.object({ [timeline]: MarkerInput }), input)[timeline] as { last_read_id: string };
    updates.push({ timeline, lastReadId: m.last_read_id });
  }
  if (updates.length === 0)
    throw unprocessable("Validation failed: give home[last_read_id] or notifications[last_read_id]");
  const now = new Date().toISOString();
  const writes = updates.map((u) =>
    ctx.db
      .insert(markers)
      .values({ timeline: u.timeline, lastReadId: u.lastReadId, version: 1, updatedAt: now })
      .onConflictDoUpdate({
        target: markers.timeline,
        set: { lastReadId: u.lastReadId, version: sql`${markers.version} + 1`, updatedAt: now },
      })
      .returning(),
  );
  const [first, ...rest] = writes;
  if (!first) throw unprocessable("Validation failed: nothing to save");
  const results = await ctx.db.batch([first, ...rest]);
  const out: Record<string, ReturnType<typeof serializeMarker>> = {};
  for (const r of results.flat()) out[r.timeline] = serializeMarker(r);
  return c.json(out);
});
