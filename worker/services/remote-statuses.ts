import { eq, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, NewStatus, Status } from "../db/client";
import {
  relayPosts,
  statusEdits,
  statusTags,
  statuses,
  type Attachment,
  type Mention,
  type Poll,
  type Tag,
  type Visibility,
} from "../db/schema";
import { PUBLIC } from "../federation/jsonld";
import { Note } from "../federation/schemas";
import { localStatusId } from "../federation/uris";
import { sanitizeHtml } from "../lib/html/sanitize";
import { truncate } from "../lib/text/clean";
import { displayTag, normalizeTag } from "../lib/text/hashtags";
import { newId } from "../lib/ids";
import { statusIdAt } from "../db/status-ids";
import { resolveAccount } from "./accounts";
import { repliesBeforeSql, statusInsertCounts } from "./counters";
import { fetchDocument } from "./signing";
import { promoteRelayPost } from "./relay-posts";

export class InvalidObjectError extends Error {
  override name = "InvalidObjectError";
}

export async function findStatusByUri(ctx: Ctx, uri: string): Promise<Status | undefined> {
  const localId = localStatusId(ctx.config, uri);
  const where = localId ? eq(statuses.id, localId) : eq(statuses.uri, uri);
  return (await ctx.db.select().from(statuses).where(where).limit(1))[0];
}

/** A status by URI: local, already stored, or fetched from its origin and stored. */
export async function resolveStatus(ctx: Ctx, uri: string): Promise<Status> {
  const known = await findStatusByUri(ctx, uri);
  if (known) return known;
  // Held as a relayed post: someone is interacting with it (a boost, a reply, a search), so it
  // becomes a status without a fetch.
  const promoted = await promoteRelayPost(ctx, { uri });
  if (promoted) return promoted;
  const { document } = await fetchDocument(ctx, uri);
  const note = parseNote(document);
  const author = await resolveAccount(ctx, note.attributedTo);
  return storeRemoteNote(ctx, note, author);
}

/** Validates a Note-like object and checks that it lives on its author's host. */
export function parseNote(document: unknown): Note {
  const parsed = Note.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidObjectError(`invalid object: ${issue?.path.join(".")} ${issue?.message ?? ""}`);
  }
  if (new URL(parsed.data.id).host !== new URL(parsed.data.attributedTo).host) {
    throw new InvalidObjectError("object is not on its author's host");
  }
  return parsed.data;
}

/**
 * The INSERT for a remote note, idempotent on its URI, not yet run: for a caller that batches its
 * writes. (Wrapped in an object because a drizzle query is a thenable that awaiting would run.)
 */
export async function remoteNoteInsert(ctx: Ctx, note: Note, author: Account) {
  const values = withParent(ctx, await noteToStatus(note, author));
  const counts = remoteCounts(ctx, values);
  return {
    queries: [
      ...counts.before,
      // Only a second copy of the same post (its URI) is skipped; any other conflict is an error.
      ctx.db.insert(statuses).values(values).onConflictDoNothing({ target: statuses.uri }),
      ...tagInserts(ctx, values.uri, values.tags ?? []),
      // A copy that came through a relay first gives way to the status (no row written when none).
      ctx.db.delete(relayPosts).where(eq(relayPosts.uri, values.uri)),
      ...counts.after,
    ] as const,
  };
}

/** The counts a remote post changes: replies to it may have come before it. */
function remoteCounts(ctx: Ctx, values: NewStatus) {
  // Replies stored before it are counted in its INSERT (withParent), not by an UPDATE after.
  return statusInsertCounts(ctx, {
    id: values.id as unknown as SQL,
    uri: values.uri,
    accountId: values.accountId,
    inReplyToUri: values.inReplyToUri,
    reblogOfId: values.reblogOfId,
  });
}

/**
 * The parent's row id and author, looked up inside the INSERT itself (a subquery, no round trip).
 * A parent that arrives later is still found by `in_reply_to_uri`, which threads are built from.
 */
function withParent(ctx: Ctx, values: NewStatus): NewStatus {
  // Replies to it that arrived first are counted as it is inserted.
  const counted = { ...values, repliesCount: repliesBeforeSql(values.uri) as unknown as number };
  if (!values.inReplyToUri) return counted;
  return {
    ...counted,
    inReplyToId: sql`(SELECT ${statuses.id} FROM ${statuses} WHERE ${statuses.uri} = ${values.inReplyToUri})`,
    inReplyToAccountId: sql`(SELECT ${statuses.accountId} FROM ${statuses} WHERE ${statuses.uri} = ${values.inReplyToUri})`,
  } as unknown as NewStatus;
}

/** Rows of status_tags for a stored status, found by URI so a duplicate insert adds nothing new. */
export function tagInserts(ctx: Ctx, uri: string, tags: Tag[]) {
  const names = [...new Set(tags.map((t) => normalizeTag(t.name)).filter(Boolean))].slice(0, 30);
  return names.map((name) =>
    ctx.db
      .insert(statusTags)
      .select(
        ctx.db
          .select({ name: sql<string>`${name}`.as("name"), statusId: statuses.id })
          .from(statuses)
          .where(eq(statuses.uri, uri)),
      )
      .onConflictDoNothing(),
  );
}

/** Stores a remote note (idempotent on its URI) and returns the stored row. */
export async function storeRemoteNote(ctx: Ctx, note: Note, author: Account): Promise<Status> {
  const values = withParent(ctx, await noteToStatus(note, author));
  const counts = remoteCounts(ctx, values);
  const results = await ctx.db.batch([
    ...counts.before,
    ctx.db.insert(statuses).values(values).onConflictDoNothing({ target: statuses.uri }).returning(),
    ...counts.after,
  ]);
  const inserted = results[counts.before.length] as Status[];
  if (inserted[0]) {
    const tags = tagInserts(ctx, inserted[0].uri, inserted[0].tags);
    const [first, ...rest] = tags;
    if (first) await ctx.db.batch([first, ...rest]);
    return inserted[0];
  }
  const existing = await findStatusByUri(ctx, note.id);
  if (!existing) throw new Error("status neither inserted nor found");
  return existing;
}

/** Applies an edit to a stored remote note; only the fields an edit may change. */
export async function updateRemoteNote(
  ctx: Ctx,
  existing: Status,
  note: Note,
  author: Account,
): Promise<void> {
  const v = await noteToStatus(note, author);
  // A poll's vote counts change through Updates too; only a change of text or media is an edit.
  const edited =
    v.content !== existing.content ||
    v.spoilerText !== existing.spoilerText ||
    JSON.stringify(v.attachments) !== JSON.stringify(existing.attachments) ||
    JSON.stringify(v.poll?.options.map((o) => o.name)) !==
      JSON.stringify(existing.poll?.options.map((o) => o.name));
  if (edited) await ctx.db.insert(statusEdits).values(editSnapshot(existing));
  await ctx.db.delete(statusTags).where(eq(statusTags.statusId, existing.id));
  const tags = tagInserts(ctx, existing.uri, v.tags ?? []);
  await ctx.db
    .update(statuses)
    .set({
      content: v.content,
      spoilerText: v.spoilerText,
      sensitive: v.sensitive,
      language: v.language,
      mentions: v.mentions,
      tags: v.tags,
      attachments: v.attachments,
      poll: v.poll,
      editedAt: edited ? (note.updated ?? new Date().toISOString()) : existing.editedAt,
    })
    .where(eq(statuses.id, existing.id));
  const [first, ...rest] = tags;
  if (first) await ctx.db.batch([first, ...rest]);
}

/** The row keeping a status's current version before it is edited (for the edit history). */
export function editSnapshot(s: Status): typeof statusEdits.$inferInsert {
  return {
    id: newId(),
    statusId: s.id,
    content: s.content,
    spoilerText: s.spoilerText,
    sensitive: s.sensitive,
    attachments: s.attachments,
    poll: s.poll,
    createdAt: s.editedAt ?? s.publishedAt,
  };
}

export function visibilityOf(to: string[], cc: string[], followersUrl: string | null): Visibility {
  if (to.includes(PUBLIC)) return "public";
  if (cc.includes(PUBLIC)) return "unlisted";
  if (followersUrl && (to.includes(followersUrl) || cc.includes(followersUrl))) return "private";
  return "direct";
}

/** A remote note as a `statuses` row (not yet stored; its id is allocated in the INSERT). */
export async function noteToStatus(note: Note, author: Account): Promise<NewStatus> {
  const to = note.to ?? [];
  const cc = note.cc ?? [];
  const contentSource =
    note.content ?? (note.contentMap ? Object.values(note.contentMap)[0] : undefined) ?? "";
  // A contentMap key is the language, shown to clients: a BCP 47 tag or nothing.
  const mapKey = note.contentMap ? Object.keys(note.contentMap)[0] : undefined;
  const language = mapKey && /^[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8}){0,7}$/.test(mapKey) ? mapKey : null;
  let content = await sanitizeHtml(contentSource);
  // Articles and Pages carry a title Mastodon shows before the body.
  if ((note.type === "Article" || note.type === "Page") && note.name) {
    content = `<p><strong>${await sanitizeHtml(note.name)}</strong></p>${content}`;
  }
  const mentions: Mention[] = [];
  const tags: Tag[] = [];
  for (const tag of note.tag) {
    if (tag.type === "Mention" && tag.href) mentions.push({ uri: tag.href, name: tag.name ?? tag.href });
    // Shown as the author wrote it; stored and matched by its normalized name (tagInserts).
    const name = tag.type === "Hashtag" && tag.name ? truncate(displayTag(tag.name), 100) : "";
    if (name && normalizeTag(name)) tags.push({ name, ...(tag.href ? { href: tag.href } : {}) });
  }
  // The schema kept only attachments whose URLs are http(s).
  const attachments: Attachment[] = note.attachment.map((a) => ({
    type: a.type,
    url: a.url,
    ...(a.icon[0] ? { previewUrl: a.icon[0] } : {}),
    ...(a.mediaType ? { mediaType: a.mediaType } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.blurhash ? { blurhash: a.blurhash } : {}),
    ...(a.width ? { width: a.width } : {}),
    ...(a.height ? { height: a.height } : {}),
  }));
  let poll: Poll | null = null;
  if (note.type === "Question") {
    const mode = note.anyOf ? "anyOf" : "oneOf";
    const options = (note.anyOf ?? note.oneOf ?? []).map((o) => ({
      name: o.name,
      votes: o.replies?.totalItems ?? 0,
    }));
    poll = { mode, options, votersCount: note.votersCount ?? 0 };
    if (note.endTime) poll.endTime = note.endTime;
    if (typeof note.closed === "string") poll.closed = note.closed;
  }
  const published = note.published ?? new Date().toISOString();
  return {
    // Allocated inside the INSERT, unique even when many posts share one `published` (db/status-ids.ts).
    id: statusIdAt(Math.min(Date.parse(published) || Date.now(), Date.now())) as unknown as string,
    uri: note.id,
    url: note.url ?? null,
    accountId: author.id,
    local: false,
    type: note.type,
    visibility: visibilityOf(to, cc, author.followersUrl),
    content,
    spoilerText: note.summary ? truncate(note.summary.replace(/<[^>]*>/g, ""), 1000) : "",
    sensitive: note.sensitive ?? false,
    language,
    inReplyToUri: note.inReplyTo ?? null,
    audience: { to, cc },
    mentions: mentions.slice(0, 100),
    tags: tags.slice(0, 100),
    attachments: attachments.slice(0, 20),
    poll,
    publishedAt: new Date(published).toISOString(),
    editedAt: note.updated ?? null,
  };
}
