/**
 * Editing a local post: the previous version is kept in status_edits, and an Update is federated.
 */
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import {
  mediaAttachments,
  pollVotes as pollVotesTable,
  statusEdits,
  statusTags,
  statuses,
} from "../db/schema";
import { renderNote } from "../federation/note";
import { uris } from "../federation/uris";
import { extractTags, renderText } from "../lib/text/format";
import { deliver } from "./delivery";
import {
  addressing,
  attachmentOf,
  loadMedia,
  mentionedAccounts,
  mentionTargets,
  newPoll,
  ownLiveStatus,
  textMentions,
} from "./post-content";
import { cleanEditInput, PostingError, type EditInput } from "./post-input";
import { editSnapshot, tagInserts } from "./remote-statuses";

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
