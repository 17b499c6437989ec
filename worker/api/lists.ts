import { Hono } from "hono";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import { accounts, listAccounts, lists } from "../db/schema";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import {
  addListAccounts,
  createList,
  deleteList,
  findList,
  removeListAccounts,
  REPLIES_POLICIES,
  serializeList,
  updateList,
} from "../services/lists";
import { presentAccounts } from "./entities/account";
import { p, readParsed } from "./input";
import { pageOrder, pageRows, pageWhere, readPage, setLink } from "./pagination";

/**
 * The owner's lists of followed accounts. https://docs.joinmastodon.org/methods/lists/
 */
export const listsApi = new Hono<AppEnv>();

const read = requireToken("read:lists", { user: true });
const write = requireToken("write:lists", { user: true });

/** A path id: anything that is not an id names no record. */
function pathId(id: string): string {
  if (!/^\d{1,20}$/.test(id)) throw notFound();
  return id;
}

const Policy = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.enum(REPLIES_POLICIES));

const ListInput = z.object({
  title: p.str(1000),
  replies_policy: Policy.optional(),
  exclusive: p.bool().optional(),
});

listsApi.get("/api/v1/lists", read, async (c) => {
  const rows = await c.var.ctx.db.select().from(lists).orderBy(asc(lists.id));
  return c.json(rows.map(serializeList));
});

listsApi.post("/api/v1/lists", write, async (c) => {
  const input = await readParsed(c, ListInput);
  const row = await createList(c.var.ctx, {
    title: input.title,
    repliesPolicy: input.replies_policy,
    exclusive: input.exclusive,
  });
  return c.json(serializeList(row));
});

listsApi.get("/api/v1/lists/:id", read, async (c) => {
  return c.json(serializeList(await findList(c.var.ctx, pathId(c.req.param("id")))));
});

listsApi.put("/api/v1/lists/:id", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const input = await readParsed(c, ListInput.partial());
  const row = await updateList(c.var.ctx, id, {
    title: input.title,
    repliesPolicy: input.replies_policy,
    exclusive: input.exclusive,
  });
  return c.json(serializeList(row));
});

listsApi.delete("/api/v1/lists/:id", write, async (c) => {
  await deleteList(c.var.ctx, pathId(c.req.param("id")));
  return c.json({});
});

const AccountIds = z.object({ account_ids: p.list(p.id(), 80).optional() });

listsApi.get("/api/v1/lists/:id/accounts", read, async (c) => {
  const ctx = c.var.ctx;
  const list = await findList(ctx, pathId(c.req.param("id")));
  // `limit=0` asks for every member without pagination, as on Mastodon.
  const unlimited = new URL(c.req.url).searchParams.get("limit") === "0";
  const page = unlimited ? { limit: 0 } : readPage(c, { defaultLimit: 40, maxLimit: 80 });
  const query = ctx.db
    .select({ account: accounts })
    .from(listAccounts)
    .innerJoin(accounts, eq(accounts.id, listAccounts.accountId))
    .where(and(eq(listAccounts.listId, list.id), unlimited ? undefined : pageWhere(accounts.id, page)))
    .orderBy(pageOrder(accounts.id, page));
  const rows = pageRows(
    (unlimited ? await query : await query.limit(page.limit)).map((r) => r.account),
    page,
  );
  if (!unlimited)
    setLink(
      c,
      rows.map((r) => r.id),
    );
  const presented = await presentAccounts(ctx, rows);
  return c.json(rows.map((r) => presented.get(r.id)));
});

listsApi.post("/api/v1/lists/:id/accounts", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const input = await readParsed(c, AccountIds);
  await addListAccounts(c.var.ctx, id, input.account_ids ?? []);
  return c.json({});
});

listsApi.delete("/api/v1/lists/:id/accounts", write, async (c) => {
  const id = pathId(c.req.param("id"));
  const input = await readParsed(c, AccountIds);
  await removeListAccounts(c.var.ctx, id, input.account_ids ?? []);
  return c.json({});
});
