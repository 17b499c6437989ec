import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import {
  accounts,
  idempotencyKeys,
  mediaAttachments,
  pins,
  pollVotes as pollVotesTable,
  statusEdits,
  statusTags,
  statuses,
  type Attachment,
  type Poll,
  type Visibility,
} from "../db/schema";
import { mediaUrl } from "../api/entities/media";
import { PUBLIC } from "../federation/jsonld";
import { renderCreate, renderNote } from "../federation/note";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { cleanText } from "../lib/text/clean";
import { extractEntities, extractTags, mentionKey, renderText, type MentionTarget } from "../lib/text/format";
import { findAccountById, findAccountByUri, resolveHandleOrUrl } from "./accounts";
import { recordConversation } from "./conversations";
import { lastStatusAt, statusInsertCounts, statusRemovalCounts } from "./counters";
import { deliver } from "./delivery";
import { editSnapshot, resolveStatus, tagInserts } from "./remote-statuses";

export interface PollInput {
  options: string[];
  /** Seconds until the poll closes. */
  expiresIn: number;
  multiple?: boolean;
  /** Keep per-option counts from others until the poll ends. */
  hideTotals?: boolean;
}

export interface NoteInput {
  /** Plain text; paragraphs split on blank lines; URLs, #hashtags and @mentions are linked. */
  text: string;
  visibility: Visibility;
  /** Handles or actor URLs to mention besides those in the text (they are addressed and notified). */
  mentions?: string[];
  /** The URI of the status replied to (fetched when unknown). */
  inReplyTo?: string;
  /** Or the local row id of a stored status replied to. */
  inReplyToId?: string;
  spoilerText?: string;
  sensitive?: boolean;
  language?: string;
  /** Ids of the owner's unattached media_attachments rows, in order. */
  mediaIds?: string[];
  poll?: PollInput;
  /** A client's Idempotency-Key: a retry with the same key returns the status already made. */
  idempotencyKey?: string;
}

export class PostingError extends Error {
  override name = "PostingError";
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

/** The accounts the text mentions, resolved (unresolvable mentions are left out, not an error). */
async function textMentions(ctx: Ctx, text: string, owner: Account): Promise<Map<string, Account>> {
  const out = new Map<string, Account>();
  const local = new Set([ctx.config.accountDomain, ctx.config.webDomain].map((d) => d.toLowerCase()));
  for (const e of extractEntities(text)) {
    if (e.kind !== "mention") continue;
    const key = mentionKey(e.username, e.domain);
    if (out.has(key) || out.size >= 50) continue;
    const domain = e.domain?.toLowerCase() ?? null;
    if (!domain || local.has(domain)) {
      if (e.username.toLowerCase() === owner.username.toLowerCase()) out.set(key, owner);
      continue;
    }
    const known = (
      await ctx.db
        .select()
        .from(accounts)
        .where(
          and(
            sql`lower(${accounts.username}) = ${e.username.toLowerCase()}`,
            sql`lower(${accounts.domain}) = ${domain}`,
          ),
        )
        .limit(1)
    )[0];
    if (known) {
      out.set(key, known);
      continue;
    }
    try {
      out.set(key, await resolveHandleOrUrl(ctx, `${e.username}@${domain}`));
    } catch {
      // Mastodon leaves a mention it cannot resolve as plain text.
    }
  }
  return out;
}

function mentionTargets(found: Map<string, Account>): Map<string, MentionTarget> {
  return new Map([...found].map(([k, a]) => [k, { url: a.url ?? a.uri, username: a.username }]));
}

const ATTACHMENT_TYPE: Record<string, string> = {
  image: "Image",
  gifv: "Video",
  video: "Video",
  audio: "Audio",
};

type MediaRow = typeof mediaAttachments.$inferSelect;

function attachmentOf(ctx: Ctx, m: MediaRow): Attachment {
  return {
    mediaId: m.id,
    type: ATTACHMENT_TYPE[m.type] ?? "Document",
    mediaType: m.mimeType,
    url: mediaUrl(ctx.config, m.key),
    ...(m.description ? { name: m.description } : {}),
    ...(m.width ? { width: m.width } : {}),
    ...(m.height ? { height: m.height } : {}),
    ...(m.focus ? { focus: m.focus } : {}),
    ...(m.blurhash ? { blurhash: m.blurhash } : {}),
    ...(m.thumbnailKey ? { previewUrl: mediaUrl(ctx.config, m.thumbnailKey) } : {}),
  };
}

/** The owner's media rows by id, in the order given; each must exist and be free or on `statusId`. */
async function loadMedia(ctx: Ctx, ids: string[], statusId?: string): Promise<MediaRow[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  if (unique.length > 4) throw new PostingError("Validation failed: Media attachments limited to 4");
  const rows = await ctx.db.select().from(mediaAttachments).where(inArray(mediaAttachments.id, unique));
  return unique.map((id) => {
    const row = rows.find((r) => r.id === id);
    if (!row || (row.statusId !== null && row.statusId !== statusId)) {
      throw new PostingError(`Validation failed: media ${id} does not exist or is already attached`);
    }
    return row;
  });
}

function newPoll(input: PollInput): Poll {
  return {
    mode: input.multiple ? "anyOf" : "oneOf",
    options: input.options.map((name) => ({ name, votes: 0 })),
    endTime: new Date(Date.now() + input.expiresIn * 1000).toISOString(),
    votersCount: 0,
    ...(input.hideTotals ? { hideTotals: true } : {}),
  };
}

/** How long an Idempotency-Key is remembered, as on Mastodon. */
const IDEMPOTENCY_TTL_MS = 60 * 60 * 1000;

/**
 * The status an Idempotency-Key already made, if any. A key older than an hour, or whose status was
 * deleted since, is forgotten so that the key can be used again.
 */
export async function idempotentStatus(ctx: Ctx, key: string): Promise<Status | undefined> {
  const row = (
    await ctx.db
      .select({ key: idempotencyKeys, s: statuses })
      .from(idempotencyKeys)
      .leftJoin(statuses, eq(statuses.id, idempotencyKeys.statusId))
      .where(eq(idempotencyKeys.key, key))
      .limit(1)
  )[0];
  if (!row) return undefined;
  const age = Date.now() - Date.parse(row.key.createdAt);
  if (row.s && !row.s.deletedAt && !(age > IDEMPOTENCY_TTL_MS)) return row.s;
  await ctx.db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key));
  return undefined;
}

/** A poll as stored: its options without control characters (lib/text/clean). */
function cleanPoll(poll: PollInput): PollInput {
  return { ...poll, options: poll.options.map(cleanText) };
}

/** The owner's text as Perch stores it, whatever the client sent: control characters removed. */
function cleanNoteInput(input: NoteInput): NoteInput {
  return {
    ...input,
    text: cleanText(input.text),
    ...(input.spoilerText !== undefined ? { spoilerText: cleanText(input.spoilerText) } : {}),
    ...(input.poll ? { poll: cleanPoll(input.poll) } : {}),
  };
}

function cleanEditInput(changes: EditInput): EditInput {
  return {
    ...changes,
    ...(changes.text !== undefined ? { text: cleanText(changes.text) } : {}),
    ...(changes.spoilerText !== undefined ? { spoilerText: cleanText(changes.spoilerText) } : {}),
    ...(changes.poll ? { poll: cleanPoll(changes.poll) } : {}),
    ...(changes.mediaAttributes
      ? {
          mediaAttributes: changes.mediaAttributes.map((a) =>
            a.description !== undefined ? { ...a, description: cleanText(a.description) } : a,
          ),
        }
      : {}),
  };
}

export async function publishNote(ctx: Ctx, raw: NoteInput): Promise<Status> {
  const input = cleanNoteInput(raw);
  if (input.idempotencyKey) {
    const done = await idempotentStatus(ctx, input.idempotencyKey);
    if (done) return done;
  }
  const { owner } = await ctx.instance();
  const u = uris(ctx.config);
  if (input.poll && input.mediaIds?.length) {
    throw new PostingError("Validation failed: a post cannot have both a poll and media");
  }
  const media = await loadMedia(ctx, input.mediaIds ?? []);
  if (!input.text.trim() && media.length === 0) {
    throw new PostingError("Validation failed: Text can't be blank");
  }
  const inText = await textMentions(ctx, input.text, owner);
  const extra = await resolveMentions(ctx, input.mentions ?? []);
  let parent: Status | undefined;
  if (input.inReplyToId) {
    parent = (
      await ctx.db
        .select()
        .from(statuses)
        .where(and(eq(statuses.id, input.inReplyToId), isNull(statuses.deletedAt)))
        .limit(1)
    )[0];
    if (!parent || parent.reblogOfId) throw new PostingError("The post being replied to was not found");
  } else if (input.inReplyTo) {
    parent = await resolveStatus(ctx, input.inReplyTo);
  }
  const recipients: Account[] = [];
  for (const a of [...inText.values(), ...extra]) {
    if (a.id !== owner.id && !recipients.some((r) => r.id === a.id)) recipients.push(a);
  }
  if (parent && parent.accountId !== owner.id) {
    const parentAuthor = await findAccountById(ctx, parent.accountId);
    if (parentAuthor && !recipients.some((r) => r.id === parentAuthor.id)) recipients.push(parentAuthor);
  }
  if (input.visibility === "direct" && recipients.length === 0) {
    throw new PostingError("A direct post needs at least one mentioned account");
  }
  const id = newId();
  const now = new Date().toISOString();
  const tags = extractTags(input.text).map((name) => ({ name }));
  const values = {
    id,
    uri: u.status(id),
    url: u.statusUrl(id),
    accountId: owner.id,
    local: true,
    type: input.poll ? "Question" : "Note",
    visibility: input.visibility,
    content: renderText(input.text, { base: u.base, mentions: mentionTargets(inText) }),
    source: input.text,
    spoilerText: input.spoilerText ?? "",
    sensitive: input.sensitive ?? Boolean(input.spoilerText),
    language: input.language ?? null,
    inReplyToUri: parent?.uri ?? null,
    inReplyToId: parent?.id ?? null,
    inReplyToAccountId: parent?.accountId ?? null,
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
    tags,
    attachments: media.map((m) => attachmentOf(ctx, m)),
    poll: input.poll ? newPoll(input.poll) : null,
    publishedAt: now,
  };
  const writes: BatchItem<"sqlite">[] = [
    ...media.map((m) =>
      ctx.db
        .update(mediaAttachments)
        .set({ statusId: id })
        .where(and(eq(mediaAttachments.id, m.id), isNull(mediaAttachments.statusId))),
    ),
    ...tagInserts(ctx, values.uri, tags),
  ];
  if (input.idempotencyKey) {
    writes.push(ctx.db.insert(idempotencyKeys).values({ key: input.idempotencyKey, statusId: id }));
  }
  let inserted: Status[];
  try {
    const counts = statusInsertCounts(ctx, {
      id: values.id,
      uri: values.uri,
      accountId: owner.id,
      inReplyToUri: values.inReplyToUri,
    });
    const results = await ctx.db.batch([
      ...counts.before,
      ctx.db.insert(statuses).values(values).returning(),
      ...writes,
      ...counts.after,
    ]);
    inserted = results[counts.before.length] as Status[];
  } catch (err) {
    // A concurrent retry with the same key won the race: answer with its status.
    const done = input.idempotencyKey ? await idempotentStatus(ctx, input.idempotencyKey) : undefined;
    if (done) return done;
    throw err;
  }
  const status = inserted[0];
  if (!status) throw new Error("insert returned no status");
  if (status.visibility === "direct") await recordConversation(ctx, status);
  await deliver(ctx, renderCreate(ctx.config, status), {
    followers: input.visibility !== "direct",
    accounts: recipients,
  });
  return status;
}

export interface EditInput {
  text?: string;
  spoilerText?: string;
  sensitive?: boolean;
  language?: string | null;
  /** The complete new list of media (ids of the status's own or unattached media). */
  mediaIds?: string[];
  /** Description and focus changes of media rows, by id. */
  mediaAttributes?: { id: string; description?: string; focus?: { x: number; y: number } }[];
  /** A new poll (its votes start over), or null to remove the poll. */
  poll?: PollInput | null;
}

/** Edits a local status, keeps the previous version in status_edits and federates an Update. */
export async function editNote(ctx: Ctx, id: string, raw: EditInput): Promise<Status> {
  const changes = cleanEditInput(raw);
  const { owner } = await ctx.instance();
  const status = await ownLiveStatus(ctx, id);
  const u = uris(ctx.config);
  const text = changes.text ?? status.source ?? "";
  const inText = await textMentions(ctx, text, owner);
  const mentions = [...status.mentions];
  for (const a of inText.values()) {
    if (a.id !== owner.id && !mentions.some((m) => m.uri === a.uri)) {
      mentions.push({ uri: a.uri, name: `@${a.username}@${a.domain}`, url: a.url ?? a.uri });
    }
  }
  const mediaIds =
    changes.mediaIds ?? status.attachments.map((a) => a.mediaId).filter((x): x is string => !!x);
  const media = await loadMedia(ctx, mediaIds, status.id);
  for (const attr of changes.mediaAttributes ?? []) {
    const row = media.find((m) => m.id === attr.id);
    if (!row) throw new PostingError(`Validation failed: media ${attr.id} is not attached to this post`);
    if (attr.description !== undefined) row.description = attr.description;
    if (attr.focus !== undefined) row.focus = attr.focus;
  }
  let poll = status.poll;
  if (changes.poll !== undefined) {
    const same =
      changes.poll &&
      poll &&
      JSON.stringify(changes.poll.options) === JSON.stringify(poll.options.map((o) => o.name)) &&
      (changes.poll.multiple ? "anyOf" : "oneOf") === poll.mode;
    poll = changes.poll ? (same ? poll : newPoll(changes.poll)) : null;
  }
  if (poll && media.length)
    throw new PostingError("Validation failed: a post cannot have both a poll and media");
  if (!text.trim() && media.length === 0) throw new PostingError("Validation failed: Text can't be blank");
  const tags = extractTags(text).map((name) => ({ name }));
  const now = new Date().toISOString();
  const audience = addressing(
    u.followers,
    status.visibility,
    mentions.map((m) => m.uri),
  );
  const writes: BatchItem<"sqlite">[] = [
    ctx.db.insert(statusEdits).values(editSnapshot(status)),
    ctx.db.delete(statusTags).where(eq(statusTags.statusId, status.id)),
    ...tagInserts(ctx, status.uri, tags),
    ...media.map((m) =>
      ctx.db
        .update(mediaAttachments)
        .set({ statusId: status.id, description: m.description, focus: m.focus })
        .where(eq(mediaAttachments.id, m.id)),
    ),
  ];
  if (poll !== status.poll) {
    writes.push(ctx.db.delete(pollVotesTable).where(eq(pollVotesTable.statusId, status.id)));
  }
  const [updatedRows] = await ctx.db.batch([
    ctx.db
      .update(statuses)
      .set({
        type: poll ? "Question" : "Note",
        content: renderText(text, { base: u.base, mentions: mentionTargets(inText) }),
        source: text,
        spoilerText: changes.spoilerText ?? status.spoilerText,
        sensitive: changes.sensitive ?? (changes.spoilerText ? true : status.sensitive),
        language: changes.language !== undefined ? changes.language : status.language,
        mentions,
        tags,
        audience,
        attachments: media.map((m) => attachmentOf(ctx, m)),
        poll,
        editedAt: now,
      })
      .where(eq(statuses.id, status.id))
      .returning(),
    ...writes,
  ]);
  const updated = updatedRows[0];
  if (!updated) throw new Error("update returned no status");
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

/**
 * Deletes a local status: it becomes a tombstone (410), leaves the pinned posts and tag timelines,
 * and a Delete is federated. Its media rows stay, for delete-and-redraft.
 */
export async function deleteNote(ctx: Ctx, id: string): Promise<Status> {
  const status = await ownLiveStatus(ctx, id);
  const now = new Date().toISOString();
  await ctx.db.batch([
    ...statusRemovalCounts(ctx, (s) => sql`${s}.id = ${id}`),
    ctx.db.update(statuses).set({ deletedAt: now, content: "", source: null }).where(eq(statuses.id, id)),
    lastStatusAt(ctx, status.accountId),
    ctx.db.delete(pins).where(eq(pins.statusId, id)),
    ctx.db.delete(statusTags).where(eq(statusTags.statusId, id)),
    ctx.db.update(mediaAttachments).set({ statusId: null }).where(eq(mediaAttachments.statusId, id)),
  ]);
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
  return status;
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

export async function mentionedAccounts(ctx: Ctx, status: Status): Promise<Account[]> {
  const found = await Promise.all(status.mentions.map((m) => findAccountByUri(ctx, m.uri)));
  return found.filter((a): a is Account => a !== undefined);
}
