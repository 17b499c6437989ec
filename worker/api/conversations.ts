import { Hono } from "hono";
import { and, eq, inArray, isNull, or } from "drizzle-orm";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { accounts, conversations, statuses } from "../db/schema";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import { presentAccounts } from "./entities/account";
import { presentStatuses } from "./entities/status";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "./pagination";

/**
 * Direct-message conversations: one per thread of direct statuses, newest activity first.
 * https://docs.joinmastodon.org/methods/conversations/
 */
export const conversationsApi = new Hono<AppEnv>();

type ConversationRow = typeof conversations.$inferSelect;
const ID = /^\d{1,20}$/;

/** Conversation entities: the participants other than the owner (from the latest status), in order. */
async function present(ctx: Ctx, rows: { c: ConversationRow; s: Status }[]) {
  if (rows.length === 0) return [];
  const { owner } = await ctx.instance();
  const uris = [...new Set(rows.flatMap(({ s }) => s.mentions.map((m) => m.uri)))].filter(
    (u) => u !== owner.uri,
  );
  const authorIds = [...new Set(rows.map(({ s }) => s.accountId))].filter((id) => id !== owner.id);
  const found: Account[] = [];
  for (let i = 0; i < Math.max(uris.length, authorIds.length); i += 45) {
    const u = uris.slice(i, i + 45);
    const a = authorIds.slice(i, i + 45);
    const where = [
      u.length ? inArray(accounts.uri, u) : undefined,
      a.length ? inArray(accounts.id, a) : undefined,
    ].filter((w) => w !== undefined);
    if (where.length === 0) continue;
    found.push(
      ...(await ctx.db
        .select()
        .from(accounts)
        .where(where.length === 1 ? where[0] : or(...where))),
    );
  }
  const byUri = new Map(found.map((a) => [a.uri, a]));
  const byId = new Map(found.map((a) => [a.id, a]));
  const [entities, statusEntities] = await Promise.all([
    presentAccounts(ctx, [...new Map(found.map((a) => [a.id, a])).values()]),
    presentStatuses(
      ctx,
      rows.map(({ s }) => s),
    ),
  ]);
  const statusById = new Map(statusEntities.map((s) => [s.id, s]));
  return rows.map(({ c, s }) => {
    const participants = [
      ...(s.accountId !== owner.id ? [byId.get(s.accountId)] : []),
      ...s.mentions.map((m) => byUri.get(m.uri)),
    ].filter((a): a is Account => !!a && a.id !== owner.id);
    const ids = [...new Set(participants.map((a) => a.id))];
    return {
      id: c.id,
      unread: c.unread,
      accounts: ids.map((id) => entities.get(id)).filter((a) => !!a),
      last_status: statusById.get(s.id) ?? null,
    };
  });
}

conversationsApi.get("/api/v1/conversations", requireToken("read:statuses", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const page = readPage(c);
  const rows = await ctx.db
    .select({ c: conversations, s: statuses })
    .from(conversations)
    .innerJoin(statuses, eq(statuses.id, conversations.lastStatusId))
    .where(and(isNull(statuses.deletedAt), pageWhere(conversations.lastStatusId, page)))
    .orderBy(pageOrder(conversations.lastStatusId, page))
    .limit(page.limit);
  const ordered = pageRows(rows, page);
  setLink(
    c,
    ordered.map((r) => r.c.lastStatusId),
  );
  return c.json(await present(ctx, ordered));
});

async function findConversation(ctx: Ctx, id: string): Promise<ConversationRow> {
  if (!ID.test(id)) throw notFound();
  const row = (await ctx.db.select().from(conversations).where(eq(conversations.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

conversationsApi.delete(
  "/api/v1/conversations/:id",
  requireToken("write:conversations", { user: true }),
  async (c) => {
    const ctx = c.var.ctx;
    const row = await findConversation(ctx, c.req.param("id"));
    await ctx.db.delete(conversations).where(eq(conversations.id, row.id));
    return c.json({});
  },
);

conversationsApi.post(
  "/api/v1/conversations/:id/read",
  requireToken("write:conversations", { user: true }),
  async (c) => {
    const ctx = c.var.ctx;
    const row = await findConversation(ctx, c.req.param("id"));
    const [updated] = await ctx.db
      .update(conversations)
      .set({ unread: false })
      .where(eq(conversations.id, row.id))
      .returning();
    const status = (
      await ctx.db
        .select()
        .from(statuses)
        .where(eq(statuses.id, (updated ?? row).lastStatusId))
        .limit(1)
    )[0];
    if (!status || status.deletedAt) throw notFound();
    const [out] = await present(ctx, [{ c: updated ?? row, s: status }]);
    return c.json(out);
  },
);
