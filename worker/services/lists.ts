import { and, count, eq, inArray } from "drizzle-orm";
import type { Ctx } from "../context";
import { accounts, follows, listAccounts, lists } from "../db/schema";
import { HttpError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";

/** As Mastodon's List::PER_ACCOUNT_LIMIT. */
export const MAX_LISTS = 50;
export const MAX_LIST_TITLE = 256;
export const REPLIES_POLICIES = ["followed", "list", "none"] as const;
export type RepliesPolicy = (typeof REPLIES_POLICIES)[number];

export type ListRow = typeof lists.$inferSelect;

const invalid = (message: string) => new HttpError(422, `Validation failed: ${message}`, "validation");

/** Mastodon's List entity. https://docs.joinmastodon.org/entities/List/ */
export function serializeList(l: ListRow) {
  return { id: l.id, title: l.title, replies_policy: l.repliesPolicy, exclusive: l.exclusive };
}

export async function findList(ctx: Ctx, id: string): Promise<ListRow> {
  const row = (await ctx.db.select().from(lists).where(eq(lists.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

function checkTitle(title: string): string {
  const t = title.trim();
  if (!t) throw invalid("Title can't be blank");
  if (t.length > MAX_LIST_TITLE) throw invalid(`Title is too long (maximum is ${MAX_LIST_TITLE} characters)`);
  return t;
}

export async function createList(
  ctx: Ctx,
  input: { title: string; repliesPolicy?: RepliesPolicy; exclusive?: boolean },
): Promise<ListRow> {
  const title = checkTitle(input.title);
  const [n] = await ctx.db.select({ n: count() }).from(lists);
  if ((n?.n ?? 0) >= MAX_LISTS) throw invalid(`You cannot have more than ${MAX_LISTS} lists`);
  const [row] = await ctx.db
    .insert(lists)
    .values({
      id: newId(),
      title,
      repliesPolicy: input.repliesPolicy ?? "list",
      exclusive: input.exclusive ?? false,
    })
    .returning();
  return row as ListRow;
}

export async function updateList(
  ctx: Ctx,
  id: string,
  input: { title?: string; repliesPolicy?: RepliesPolicy; exclusive?: boolean },
): Promise<ListRow> {
  const list = await findList(ctx, id);
  const set: Partial<ListRow> = {};
  if (input.title !== undefined) set.title = checkTitle(input.title);
  if (input.repliesPolicy !== undefined) set.repliesPolicy = input.repliesPolicy;
  if (input.exclusive !== undefined) set.exclusive = input.exclusive;
  if (Object.keys(set).length === 0) return list;
  const [row] = await ctx.db.update(lists).set(set).where(eq(lists.id, id)).returning();
  return (row ?? list) as ListRow;
}

/** Deletes a list and its memberships together. */
export async function deleteList(ctx: Ctx, id: string): Promise<void> {
  await findList(ctx, id);
  await ctx.db.batch([
    ctx.db.delete(listAccounts).where(eq(listAccounts.listId, id)),
    ctx.db.delete(lists).where(eq(lists.id, id)),
  ]);
}

/**
 * Adds accounts to a list. As on Mastodon, every account must exist (404 otherwise) and be followed
 * by the owner, or have a follow request from the owner pending (422 otherwise); all are added or none.
 * An account already in the list stays as it is.
 */
export async function addListAccounts(ctx: Ctx, listId: string, accountIds: string[]): Promise<void> {
  await findList(ctx, listId);
  const ids = [...new Set(accountIds)];
  if (ids.length === 0) return;
  const { owner } = await ctx.instance();
  const [found, followed] = await ctx.db.batch([
    ctx.db.select({ id: accounts.id }).from(accounts).where(inArray(accounts.id, ids)),
    ctx.db
      .select({ id: follows.targetAccountId })
      .from(follows)
      .where(and(eq(follows.accountId, owner.id), inArray(follows.targetAccountId, ids))),
  ]);
  const known = new Set(found.map((r) => r.id));
  if (ids.some((id) => !known.has(id))) throw notFound();
  const following = new Set(followed.map((r) => r.id));
  if (ids.some((id) => !following.has(id))) throw invalid("Account must be followed first");
  // Two parameters a row: chunks keep each statement under D1's 100 bound parameters.
  const inserts = [];
  for (let i = 0; i < ids.length; i += 45)
    inserts.push(
      ctx.db
        .insert(listAccounts)
        .values(ids.slice(i, i + 45).map((accountId) => ({ listId, accountId })))
        .onConflictDoNothing(),
    );
  const [first, ...rest] = inserts;
  if (first) await ctx.db.batch([first, ...rest]);
}

export async function removeListAccounts(ctx: Ctx, listId: string, accountIds: string[]): Promise<void> {
  await findList(ctx, listId);
  const ids = [...new Set(accountIds)];
  if (ids.length === 0) return;
  await ctx.db
    .delete(listAccounts)
    .where(and(eq(listAccounts.listId, listId), inArray(listAccounts.accountId, ids)));
}

/** Removes an account from every list (for when the owner unfollows it, as Mastodon does). */
export async function removeFromAllLists(ctx: Ctx, accountId: string): Promise<void> {
  await ctx.db.delete(listAccounts).where(eq(listAccounts.accountId, accountId));
}
