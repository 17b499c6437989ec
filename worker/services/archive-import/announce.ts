/**
 * The owner's option to announce an import: its public and unlisted posts are delivered as Create to
 * the followers, through the same packed delivery queue as a new post (queueDelivery), a few posts
 * per step in the order of their old URIs (the job remembers the last one delivered: archive_posts is
 * walked on its primary key, so the whole phase reads each of its rows about once). Nothing else is
 * sent: not to the accounts the posts mention (no notifications), not to relays (old posts are not
 * news). Off by default; the page warns that followers will see the old posts.
 *
 * Cost: each post is one message per six follower inboxes (delivery-packs.ts), so an archive of 1,000
 * public posts and 60 follower servers is 10,000 messages, about 30,000 Queue operations: three days
 * of the Free plan's 10,000. The page says so before the owner ticks the box.
 */
import { and, asc, eq, gt, inArray, isNull } from "drizzle-orm";
import type { Ctx } from "../../context";
import { accounts, archiveImports, archivePosts, follows, statuses } from "../../db/schema";
import { renderCreate } from "../../federation/note";
import { queueDelivery } from "../../queues/delivery-packs";
import { signActivity } from "../delivery";
import { markFederated } from "../instance";

/** Posts per step: a signed proof each (~1 ms CPU) and one sendBatch per post. */
export const ANNOUNCE_PER_STEP = 5;

type Job = typeof archiveImports.$inferSelect;

const after = (checkpoint: unknown): string =>
  typeof checkpoint === "object" && checkpoint !== null && "after" in checkpoint
    ? String((checkpoint as { after: unknown }).after)
    : "";

/** Delivers the next few posts of a job; "empty" once all were. */
export async function announceStep(ctx: Ctx, job: Job): Promise<"more" | "empty"> {
  // With no followers there is no one to deliver to.
  const inboxes = await followerInboxes(ctx);
  if (inboxes.length === 0) return "empty";
  const cursor = after(job.phaseCheckpoint);
  const posts = await ctx.db
    .select({ s: statuses, oldUri: archivePosts.oldUri })
    .from(archivePosts)
    .innerJoin(statuses, eq(statuses.id, archivePosts.statusId))
    .where(
      and(
        eq(archivePosts.importId, job.id),
        gt(archivePosts.oldUri, cursor),
        inArray(statuses.visibility, ["public", "unlisted"]),
        isNull(statuses.deletedAt),
      ),
    )
    .orderBy(asc(archivePosts.oldUri))
    .limit(ANNOUNCE_PER_STEP);
  if (posts.length === 0) return "empty";
  for (const { s } of posts) {
    const body = JSON.stringify(await signActivity(ctx, renderCreate(ctx.config, s)));
    await queueDelivery(ctx.env, inboxes, body, { signer: "owner" });
  }
  await markFederated(ctx.db);
  const last = posts.at(-1)?.oldUri ?? cursor;
  await ctx.db
    .update(archiveImports)
    .set({
      phaseCheckpoint: { after: last },
      postsAnnounced: job.postsAnnounced + posts.length,
      leaseUntil: null,
      failures: 0,
      updatedAt: new Date().toISOString(),
    })
    .where(eq(archiveImports.id, job.id));
  return "more";
}

/** The owner's accepted followers' inboxes, shared inboxes deduplicated (as deliver() finds them). */
async function followerInboxes(ctx: Ctx): Promise<string[]> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ local: accounts.local, inbox: accounts.inbox, sharedInbox: accounts.sharedInbox })
    .from(follows)
    .innerJoin(accounts, eq(accounts.id, follows.accountId))
    .where(and(eq(follows.targetAccountId, owner.id), eq(follows.accepted, true)));
  const inboxes = new Set<string>();
  for (const r of rows) {
    const target = r.local ? null : (r.sharedInbox ?? r.inbox);
    if (target) inboxes.add(target);
  }
  return [...inboxes];
}
