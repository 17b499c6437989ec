import { and, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { pollVotes, statuses, type Poll } from "../db/schema";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { findAccountById } from "./accounts";
import { deliver } from "./delivery";

export class PollError extends Error {
  override name = "PollError";
}

export function pollExpired(poll: Poll, now = Date.now()): boolean {
  if (poll.closed) return true;
  return poll.endTime !== undefined && Date.parse(poll.endTime) <= now;
}

/**
 * The owner votes in a remote poll: one poll_votes row per choice, the cached tallies updated at once
 * (as Mastodon does), and one Create(Note) per choice sent to the poll's author, which is how
 * ActivityPub votes travel. Voting twice, in an expired poll, in one's own poll, or with choices that
 * are not options of the poll (or several in a single-choice poll) is refused.
 */
export async function vote(ctx: Ctx, status: Status, choices: number[]): Promise<Status> {
  const { owner } = await ctx.instance();
  const poll = status.poll;
  if (!poll || status.deletedAt) throw new PollError("Record not found");
  if (status.accountId === owner.id)
    throw new PollError("Validation failed: You cannot vote in your own poll");
  if (pollExpired(poll)) throw new PollError("Validation failed: The poll has already ended");
  const unique = [...new Set(choices)];
  if (unique.length === 0) throw new PollError("Validation failed: choices can't be blank");
  if (unique.some((c) => !Number.isInteger(c) || c < 0 || c >= poll.options.length)) {
    throw new PollError("Validation failed: a choice is not an option of this poll");
  }
  if (poll.mode === "oneOf" && unique.length > 1) {
    throw new PollError("Validation failed: this poll allows only one choice");
  }
  const existing = await ctx.db
    .select()
    .from(pollVotes)
    .where(and(eq(pollVotes.statusId, status.id), eq(pollVotes.accountId, owner.id)))
    .limit(1);
  if (existing.length) throw new PollError("Validation failed: You have already voted on this poll");
  const author = await findAccountById(ctx, status.accountId);
  if (!author) throw new PollError("Record not found");

  const u = uris(ctx.config);
  const now = new Date().toISOString();
  const votes = unique.map((choice) => ({ choice, id: newId(), name: poll.options[choice]?.name ?? "" }));
  const tallied: Poll = {
    ...poll,
    options: poll.options.map((o, i) => (unique.includes(i) ? { ...o, votes: o.votes + 1 } : o)),
    votersCount: (poll.votersCount ?? 0) + 1,
  };
  const [first, ...rest] = votes.map((v) =>
    ctx.db.insert(pollVotes).values({
      statusId: status.id,
      accountId: owner.id,
      choice: v.choice,
      uri: `${u.activity(v.id)}`,
    }),
  );
  if (!first) throw new PollError("Validation failed: choices can't be blank");
  const [, ...results] = await ctx.db.batch([
    first,
    ...rest,
    ctx.db.update(statuses).set({ poll: tallied }).where(eq(statuses.id, status.id)).returning(),
  ]);
  const updated = (results[results.length - 1] as Status[])[0] ?? { ...status, poll: tallied };
  for (const v of votes) {
    await deliver(
      ctx,
      {
        id: u.activity(v.id),
        type: "Create",
        actor: u.actor,
        published: now,
        to: [author.uri],
        object: {
          id: `${u.activity(v.id)}#vote`,
          type: "Note",
          name: v.name,
          attributedTo: u.actor,
          inReplyTo: status.uri,
          to: [author.uri],
        },
      },
      { accounts: [author] },
    );
  }
  return updated;
}

/** The owner's choices in a poll. */
export async function ownVotes(ctx: Ctx, statusId: string): Promise<number[]> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ choice: pollVotes.choice })
    .from(pollVotes)
    .where(and(eq(pollVotes.statusId, statusId), eq(pollVotes.accountId, owner.id)));
  return rows.map((r) => r.choice);
}
