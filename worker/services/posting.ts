import { and, eq, isNull } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { statuses, type Visibility } from "../db/schema";
import { PUBLIC } from "../federation/jsonld";
import { renderCreate, renderNote } from "../federation/note";
import { uris } from "../federation/uris";
import { escapeHtml } from "../lib/html/sanitize";
import { newId } from "../lib/ids";
import { findAccountById, findAccountByUri, resolveHandleOrUrl } from "./accounts";
import { deliver } from "./delivery";
import { resolveStatus } from "./remote-statuses";

export interface NoteInput {
  /** Plain text; paragraphs split on blank lines. */
  text: string;
  visibility: Visibility;
  /** Handles or actor URLs to mention (they are addressed and notified). */
  mentions?: string[];
  inReplyTo?: string;
  spoilerText?: string;
  sensitive?: boolean;
  language?: string;
}

export class PostingError extends Error {
  override name = "PostingError";
}

/** Plain text to the minimal HTML Mastodon produces: paragraphs and line breaks. */
export function textToHtml(text: string): string {
  return text
    .trim()
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, "<br>")}</p>`)
    .join("");
}

/**
 * Addressing as Mastodon does it (ActivityPub::TagManager): public goes to Public with followers in
 * cc; unlisted the reverse; followers-only to the followers collection; direct only to the mentioned.
 */
export function addressing(followersUrl: string, visibility: Visibility, mentioned: string[]) {
  switch (visibility) {
    case "public":
      return { to: [PUBLIC], cc: [followersUrl, ...mentioned] };
    case "unlisted":
      return { to: [followersUrl], cc: [PUBLIC, ...mentioned] };
    case "private":
      return { to: [followersUrl], cc: mentioned };
    case "direct":
      return { to: mentioned, cc: [] };
  }
}

export async function publishNote(ctx: Ctx, input: NoteInput): Promise<Status> {
  const { owner } = await ctx.instance();
  const u = uris(ctx.config);
  const mentioned = await resolveMentions(ctx, input.mentions ?? []);
  const parent = input.inReplyTo ? await resolveStatus(ctx, input.inReplyTo) : undefined;
  const recipients = [...mentioned];
  if (parent && parent.accountId !== owner.id) {
    const parentAuthor = await findAccountById(ctx, parent.accountId);
    if (parentAuthor && !recipients.some((r) => r.id === parentAuthor.id)) recipients.push(parentAuthor);
  }
  if (input.visibility === "direct" && recipients.length === 0) {
    throw new PostingError("A direct post needs at least one mentioned account");
  }
  const id = newId();
  const now = new Date().toISOString();
  const [status] = await ctx.db
    .insert(statuses)
    .values({
      id,
      uri: u.status(id),
      url: u.statusUrl(id),
      accountId: owner.id,
      local: true,
      visibility: input.visibility,
      content: textToHtml(input.text),
      source: input.text,
      spoilerText: input.spoilerText ?? "",
      sensitive: input.sensitive ?? Boolean(input.spoilerText),
      language: input.language ?? null,
      inReplyToUri: parent?.uri ?? null,
      audience: addressing(
        u.followers,
        input.visibility,
        recipients.map((m) => m.uri),
      ),
      mentions: recipients.map((m) => ({
        uri: m.uri,
        name: `@${m.username}@${m.domain}`,
        url: m.url ?? m.uri,
      })),
      publishedAt: now,
    })
    .returning();
  if (!status) throw new Error("insert returned no status");
  await deliver(ctx, renderCreate(ctx.config, status), {
    followers: input.visibility !== "direct",
    accounts: recipients,
  });
  return status;
}

/** Edits a local note's text (and spoiler/sensitive) and federates an Update. */
export async function editNote(
  ctx: Ctx,
  id: string,
  changes: { text: string; spoilerText?: string; sensitive?: boolean },
): Promise<Status> {
  const status = await ownLiveStatus(ctx, id);
  const now = new Date().toISOString();
  const [updated] = await ctx.db
    .update(statuses)
    .set({
      content: textToHtml(changes.text),
      source: changes.text,
      spoilerText: changes.spoilerText ?? status.spoilerText,
      sensitive: changes.sensitive ?? status.sensitive,
      editedAt: now,
    })
    .where(eq(statuses.id, status.id))
    .returning();
  if (!updated) throw new Error("update returned no status");
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${updated.uri}#updates/${Date.parse(now)}`,
      type: "Update",
      actor: u.actor,
      published: now,
      to: updated.audience.to,
      cc: updated.audience.cc,
      object: renderNote(ctx.config, updated),
    },
    { followers: updated.visibility !== "direct", accounts: await mentionedAccounts(ctx, updated) },
  );
  return updated;
}

/** Deletes a local note: it becomes a tombstone (410) and a Delete is federated. */
export async function deleteNote(ctx: Ctx, id: string): Promise<void> {
  const status = await ownLiveStatus(ctx, id);
  const now = new Date().toISOString();
  await ctx.db.update(statuses).set({ deletedAt: now, content: "", source: null }).where(eq(statuses.id, id));
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${status.uri}#delete`,
      type: "Delete",
      actor: u.actor,
      to: status.audience.to,
      cc: status.audience.cc,
      object: { id: status.uri, type: "Tombstone" },
    },
    { followers: status.visibility !== "direct", accounts: await mentionedAccounts(ctx, status) },
  );
}

async function ownLiveStatus(ctx: Ctx, id: string): Promise<Status> {
  const { owner } = await ctx.instance();
  const status = (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.id, id), eq(statuses.accountId, owner.id), isNull(statuses.deletedAt)))
      .limit(1)
  )[0];
  if (!status || status.reblogOfId) throw new PostingError("No such post");
  return status;
}

async function resolveMentions(ctx: Ctx, handles: string[]): Promise<Account[]> {
  const out: Account[] = [];
  for (const h of handles.slice(0, 50)) {
    const a = await resolveHandleOrUrl(ctx, h);
    if (!out.some((o) => o.id === a.id)) out.push(a);
  }
  return out;
}

async function mentionedAccounts(ctx: Ctx, status: Status): Promise<Account[]> {
  const found = await Promise.all(status.mentions.map((m) => findAccountByUri(ctx, m.uri)));
  return found.filter((a): a is Account => a !== undefined);
}
