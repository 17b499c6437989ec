/**
 * Publishing a new local post: validated, stored with its counts, tags and media in one batch, and
 * federated as a Create; a client's Idempotency-Key makes a retried request return the same status.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { idempotencyKeys, mediaAttachments, statuses } from "../db/schema";
import { renderCreate } from "../federation/note";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { extractTags, renderText } from "../lib/text/format";
import { findAccountById } from "./accounts";
import { recordConversation } from "./conversations";
import { statusInsertCounts } from "./counters";
import { deliver } from "./delivery";
import {
  addressing,
  attachmentOf,
  loadMedia,
  mentionTargets,
  newPoll,
  resolveMentions,
  textMentions,
} from "./post-content";
import { cleanNoteInput, PostingError, type NoteInput } from "./post-input";
import { resolveStatus, tagInserts } from "./remote-statuses";

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
