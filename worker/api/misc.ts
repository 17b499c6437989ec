import { Hono } from "hono";
import { hiddenAccountSql } from "../services/visibility";
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import { accounts } from "../db/schema";
import { HttpError, forbidden, notFound, unprocessable } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { presentAccounts } from "./entities/account";
import { p, parseWith, readInput } from "./input";
import { readPage, setOffsetLink } from "./pagination";

/**
 * The smaller parts of Mastodon's client API, answered as a single-user server without those
 * features answers them: custom emojis, announcements, suggestions, the profile directory, scheduled
 * statuses, Web Push, reports, the admin API and the streaming API.
 */
export const miscApi = new Hono<AppEnv>();

// ——— Custom emojis: Perch has none of its own. ———
miscApi.get("/api/v1/custom_emojis", (c) => c.json([]));

// ——— Announcements: there is no admin to announce anything. ———
miscApi.get("/api/v1/announcements", requireToken("read", { user: true }), (c) => c.json([]));
miscApi.post("/api/v1/announcements/:id/dismiss", requireToken("write:accounts", { user: true }), () => {
  throw notFound();
});
for (const method of ["put", "delete"] as const) {
  miscApi[method](
    "/api/v1/announcements/:id/reactions/:name",
    requireToken("write:favourites", { user: true }),
    () => {
      throw notFound();
    },
  );
}

// ——— Follow suggestions: none are computed. ———
miscApi.get("/api/v1/suggestions", requireToken("read:accounts", { user: true }), (c) => c.json([]));
miscApi.get("/api/v2/suggestions", requireToken("read:accounts", { user: true }), (c) => c.json([]));
miscApi.delete("/api/v1/suggestions/:id", requireToken("write:accounts", { user: true }), (c) => c.json({}));

// ——— The profile directory: the discoverable accounts Perch knows. ———
const DirectoryParams = z.object({
  order: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.enum(["active", "new"])).optional(),
  local: p.bool().optional(),
});

miscApi.get("/api/v1/directory", async (c) => {
  const ctx = c.var.ctx;
  const q = parseWith(DirectoryParams, await readInput(c));
  const page = readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const { owner } = await ctx.instance();
  const lastStatus = sql<
    string | null
  >`(SELECT max(s.published_at) FROM statuses s WHERE s.account_id = ${accounts.id} AND s.deleted_at IS NULL AND s.visibility IN ('public', 'unlisted'))`;
  const rows = await ctx.db
    .select({ account: accounts })
    .from(accounts)
    .where(
      and(
        eq(accounts.discoverable, true),
        isNull(accounts.movedTo),
        q.local ? eq(accounts.local, true) : undefined,
        // Blocked, muted, or on a blocked domain or its subdomain: not offered (services/visibility).
        sql`NOT ${hiddenAccountSql(owner.id, accounts.id, { domain: accounts.domain })}`,
        q.order === "new" ? undefined : sql`${lastStatus} IS NOT NULL`,
      ),
    )
    .orderBy(
      ...(q.order === "new"
        ? [desc(accounts.createdAt), desc(accounts.id)]
        : [desc(lastStatus), desc(accounts.id)]),
    )
    .limit(page.limit)
    .offset(page.offset ?? 0);
  const list = rows.map((r) => r.account);
  setOffsetLink(c, page, list.length);
  const presented = await presentAccounts(ctx, list);
  return c.json(list.map((a) => presented.get(a.id)));
});

// ——— Scheduled statuses: Perch publishes at once and keeps none scheduled. ———
miscApi.get("/api/v1/scheduled_statuses", requireToken("read:statuses", { user: true }), (c) => c.json([]));
miscApi.get("/api/v1/scheduled_statuses/:id", requireToken("read:statuses", { user: true }), () => {
  throw notFound();
});
miscApi.put("/api/v1/scheduled_statuses/:id", requireToken("write:statuses", { user: true }), () => {
  throw notFound();
});
miscApi.delete("/api/v1/scheduled_statuses/:id", requireToken("write:statuses", { user: true }), () => {
  throw notFound();
});

// ——— Web Push ———
const NO_PUSH =
  "Web Push notifications are not supported by this server yet; the app can poll /api/v1/notifications instead";
miscApi.get("/api/v1/push/subscription", requireToken("push", { user: true }), () => {
  throw notFound();
});
miscApi.post("/api/v1/push/subscription", requireToken("push", { user: true }), () => {
  throw unprocessable(NO_PUSH, "push_unsupported");
});
miscApi.put("/api/v1/push/subscription", requireToken("push", { user: true }), () => {
  throw unprocessable(NO_PUSH, "push_unsupported");
});
/** There is never a subscription, so removing it succeeds, as Mastodon answers. */
miscApi.delete("/api/v1/push/subscription", requireToken("push", { user: true }), (c) => c.json({}));

// ——— Reports go to a server's moderators; here that is the owner, who can block instead. ———
miscApi.post("/api/v1/reports", requireToken("write:reports", { user: true }), () => {
  throw unprocessable(
    "Reports are not supported: this is a single-user server with no moderators to review them. Block or mute the account instead",
    "reports_unsupported",
  );
});

// ——— The admin API: nobody on a single-user server administers other users. ———
miscApi.all("/api/v1/admin/*", () => {
  throw forbidden("This action is not allowed");
});
miscApi.all("/api/v2/admin/*", () => {
  throw forbidden("This action is not allowed");
});

// ——— Streaming ———
/**
 * Perch has no streaming server. Mastodon's health check answers "OK" when streaming works; here it
 * answers 503 so a client that checks it knows not to open a socket, and the streaming endpoints
 * answer 404 (as Mastodon's web process does when streaming is not routed to it), so a WebSocket
 * handshake fails at once instead of hanging, and clients fall back to refreshing over the REST API.
 */
miscApi.get("/api/v1/streaming/health", () => {
  throw new HttpError(
    503,
    "Streaming is not available on this server; refresh timelines and notifications through the REST API",
    "no_streaming",
  );
});
miscApi.all("/api/v1/streaming", () => {
  throw notFound();
});
miscApi.all("/api/v1/streaming/*", () => {
  throw notFound();
});
