import { and, count, countDistinct, eq, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import type { Account, Status } from "../../db/client";
import { pollVotes, statuses } from "../../db/schema";
import { recordConversation } from "../../services/conversations";
import { notificationWrite } from "../../services/notifications";
import { findStatusByUri, parseNote, remoteNoteInsert, visibilityOf } from "../../services/remote-statuses";
import { isFollowing } from "../../services/following";
import { fetchDocument } from "../../services/signing";
import { NOTE_TYPES, objectId, type Note } from "../schemas";
import { localStatusId } from "../uris";
import { PermanentError, type InboxContext } from "./index";

/**
 * Create of a Note, Question or Article. Stored when it concerns the owner: from an account the owner
 * follows, addressed to or mentioning the owner, or a reply to a local post. A forwarded Create without
 * a proof is trusted only as re-fetched from the object's origin.
 */
export async function handleCreate(ic: InboxContext): Promise<void> {
  const note = await authenticObject(ic);
  if (!note) return;
  if (note.attributedTo !== ic.actor.uri) throw new PermanentError("Create by someone other than the author");
  if (note.name && note.inReplyTo && localStatusId(ic.ctx.config, note.inReplyTo)) {
    // A vote on the owner's poll: counted, never stored as a status.
    if (await countPollVote(ic, note)) return;
  }
  const concern = await concernsOwner(ic.ctx, ic, note);
  if (!concern) return;
  const notification = notificationWrite(ic.ctx, {
    type: concern === "mention" ? "mention" : "status",
    fromAccountId: ic.actor.id,
    status: { uri: note.id },
    key: concern === "mention" ? "mention-" : "status-",
    unique: true,
    activityUri: ic.activity.id,
    // "status": a post by an account the owner asked to be notified about (not a reply to others).
    ...(concern === "mention"
      ? {}
      : {
          when: sql`EXISTS (SELECT 1 FROM follows WHERE account_id = ${ic.local.owner.id}
            AND target_account_id = ${ic.actor.id} AND accepted = 1 AND notify = 1)
            AND (SELECT in_reply_to_uri IS NULL OR in_reply_to_account_id = account_id FROM statuses WHERE id = sid)`,
        }),
  });
  const { queries } = await remoteNoteInsert(ic.ctx, note, ic.actor);
  const direct = isDirect(note, ic.actor);
  if (ic.defer && !direct) {
    for (const q of queries) ic.defer(q);
    ic.defer(notification);
    return;
  }
  const [first, ...rest] = queries;
  await ic.ctx.db.batch([first, ...rest, notification]);
  if (direct) {
    const stored = await findStatusByUri(ic.ctx, note.id);
    if (stored) await recordConversation(ic.ctx, stored);
  }
}

function isDirect(note: Note, actor: Account): boolean {
  return visibilityOf(note.to ?? [], note.cc ?? [], actor.followersUrl) === "direct";
}

/**
 * A vote (a Note with a `name`, replying to the owner's poll) from an account the poll was shown to.
 * Counted once per account per choice (once per account for a single-choice poll); the poll's counts
 * are then recomputed from poll_votes. Returns false when the reply is not a vote after all.
 */
async function countPollVote({ ctx, actor, local }: InboxContext, note: Note): Promise<boolean> {
  const poll = await findStatusByUri(ctx, note.inReplyTo as string);
  if (!poll?.poll || !poll.local || poll.deletedAt || poll.accountId !== local.owner.id) return false;
  if (note.content && note.content.replace(/<[^>]*>/g, "").trim()) return false;
  const choice = poll.poll.options.findIndex((o) => o.name === note.name);
  if (choice < 0) return true;
  const ended = poll.poll.closed ?? poll.poll.endTime;
  if (ended && Date.parse(ended) <= Date.now()) return true;
  if (!(await mayVote(ctx, poll, actor, local.owner.id))) return true;
  const mine = await ctx.db
    .select({ choice: pollVotes.choice })
    .from(pollVotes)
    .where(and(eq(pollVotes.statusId, poll.id), eq(pollVotes.accountId, actor.id)));
  if (mine.some((v) => v.choice === choice)) return true;
  if (poll.poll.mode === "oneOf" && mine.length > 0) return true;
  await ctx.db
    .insert(pollVotes)
    .values({ statusId: poll.id, accountId: actor.id, choice, uri: note.id })
    .onConflictDoNothing();
  const counts = await ctx.db
    .select({ choice: pollVotes.choice, n: count() })
    .from(pollVotes)
    .where(eq(pollVotes.statusId, poll.id))
    .groupBy(pollVotes.choice);
  const voters = await ctx.db
    .select({ n: countDistinct(pollVotes.accountId) })
    .from(pollVotes)
    .where(eq(pollVotes.statusId, poll.id));
  const byChoice = new Map(counts.map((c) => [c.choice, c.n]));
  await ctx.db
    .update(statuses)
    .set({
      poll: {
        ...poll.poll,
        options: poll.poll.options.map((o, i) => ({ ...o, votes: byChoice.get(i) ?? 0 })),
        votersCount: voters[0]?.n ?? 0,
      },
    })
    .where(eq(statuses.id, poll.id));
  return true;
}

/** Whether the poll was addressed to the voter: public polls to anyone, others to followers or mentioned. */
async function mayVote(ctx: Ctx, poll: Status, voter: Account, ownerId: string): Promise<boolean> {
  if (poll.visibility === "public" || poll.visibility === "unlisted") return true;
  if (poll.mentions.some((m) => m.uri === voter.uri)) return true;
  if (poll.visibility === "direct") return false;
  return isFollowing(ctx, voter.id, ownerId);
}

/** The activity's object as a validated Note, re-fetched from its origin when the activity was forwarded. */
export async function authenticObject({ ctx, activity, authentic }: InboxContext): Promise<Note | null> {
  let object: unknown = activity.object;
  if (!authentic || typeof object === "string") {
    const id = objectId(object);
    if (!id) throw new PermanentError("object has no id");
    object = (await fetchDocument(ctx, id)).document;
  }
  const type = (object as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || !(NOTE_TYPES as readonly string[]).includes(type)) return null;
  try {
    return parseNote(object);
  } catch (e) {
    throw new PermanentError(e instanceof Error ? e.message : "invalid object");
  }
}

async function concernsOwner(
  ctx: Ctx,
  { local, actor }: { local: InboxContext["local"]; actor: Account },
  note: Note,
) {
  const ownerUri = local.owner.uri;
  const addressed = [...(note.to ?? []), ...(note.cc ?? [])].includes(ownerUri);
  const mentioned = note.tag.some((t) => t.type === "Mention" && t.href === ownerUri);
  if (addressed || mentioned) return "mention";
  if (note.inReplyTo && localStatusId(ctx.config, note.inReplyTo)) return "reply";
  return (await isFollowing(ctx, local.owner.id, actor.id)) ? "followed" : false;
}
