import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { blocks } from "../../db/schema";
import { domainIsBlocked, loadBlockedDomains } from "../../services/visibility";
import type { Instance } from "../../services/instance";
import { findAccountByUri, resolveAccount } from "../../services/accounts";
import type { ReceivedActivity } from "../../queues/messages";
import { Activity } from "../schemas";
import { handleAccept, handleReject } from "./accept";
import { handleAdd, handleRemove } from "./featured";
import { handleAnnounce } from "./announce";
import { handleBlock } from "./block";
import { handleCreate } from "./create";
import { handleDelete } from "./delete";
import { handleFollow } from "./follow";
import { handleLike, handleEmojiReact } from "./like";
import { handleMove } from "./move";
import { handleUndo } from "./undo";
import { handleUpdate } from "./update";

/** What every handler gets: the activity, its (authenticated) actor and the local identity. */
export interface InboxContext {
  ctx: Ctx;
  activity: Activity;
  actor: Account;
  local: Instance;
  /** False when the activity was forwarded by a third party without a proof: its object must be re-fetched. */
  authentic: boolean;
  /**
   * When set, a handler may hand its final write here instead of running it: the queue consumer runs
   * the writes of consecutive messages as one D1 batch.
   */
  defer?: (write: BatchItem<"sqlite">) => void;
}

export type Handler = (ic: InboxContext) => Promise<void>;

/** An activity that can never succeed (invalid, or not allowed): not retried. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/** The routing table: one handler per activity type. Unknown types are accepted and ignored. */
const handlers: Record<string, Handler> = {
  Follow: handleFollow,
  Undo: handleUndo,
  Accept: handleAccept,
  Reject: handleReject,
  Create: handleCreate,
  Update: handleUpdate,
  Delete: handleDelete,
  Announce: handleAnnounce,
  Like: handleLike,
  EmojiReact: handleEmojiReact,
  Block: handleBlock,
  Move: handleMove,
  Add: handleAdd,
  Remove: handleRemove,
};

export async function processActivity(
  ctx: Ctx,
  message: ReceivedActivity,
  defer?: (write: BatchItem<"sqlite">) => void,
): Promise<void> {
  const parsed = Activity.safeParse(message.activity);
  if (!parsed.success) throw new PermanentError("activity failed validation");
  const activity = parsed.data;
  const handler = handlers[activity.type];
  if (!handler) return;
  // Nothing from a blocked domain is accepted, except a Delete of what was stored before the block.
  if (activity.type !== "Delete" && (await fromBlockedDomain(ctx, activity.actor))) return;
  const local = await ctx.instance();
  const authentic = message.proofVerified || message.signer === activity.actor;
  // Only a Create or Update can be trusted without its actor's signature: their object is re-fetched.
  if (!authentic && activity.type !== "Create" && activity.type !== "Update") {
    throw new PermanentError(`${activity.type} forwarded by ${message.signer} without its actor's proof`);
  }
  let actor: Account;
  if (activity.type === "Delete") {
    // The actor may be gone already (410): only data we hold can be deleted, so a cached row suffices.
    const known = await findAccountByUri(ctx, activity.actor);
    if (!known) return;
    actor = known;
  } else {
    actor = await resolveAccount(ctx, activity.actor);
  }
  if (
    activity.type !== "Undo" &&
    activity.type !== "Delete" &&
    (await isBlocked(ctx, local.owner.id, actor.id))
  )
    return;
  await handler({ ctx, activity, actor, local, authentic, ...(defer ? { defer } : {}) });
}

/** The owner's blocks, read once per Ctx (a queue batch): the list is short, the check is per activity. */
const blockedByCtx = new WeakMap<Ctx, Promise<Set<string>>>();

async function isBlocked(ctx: Ctx, ownerId: string, accountId: string): Promise<boolean> {
  let blocked = blockedByCtx.get(ctx);
  if (!blocked) {
    blocked = ctx.db
      .select({ target: blocks.targetAccountId })
      .from(blocks)
      .where(eq(blocks.accountId, ownerId))
      .then((rows) => new Set(rows.map((r) => r.target)));
    blockedByCtx.set(ctx, blocked);
  }
  return (await blocked).has(accountId);
}

/** The owner's blocked domains, read once per Ctx (a queue batch). */
const domainsByCtx = new WeakMap<Ctx, Promise<Set<string>>>();

/** Whether the actor's host is a blocked domain or a subdomain of one: nothing from it is accepted. */
export async function fromBlockedDomain(ctx: Ctx, actorUri: string): Promise<boolean> {
  let domains = domainsByCtx.get(ctx);
  if (!domains) domainsByCtx.set(ctx, (domains = loadBlockedDomains(ctx)));
  const blocked = await domains;
  if (blocked.size === 0) return false;
  try {
    // The host with its port, as accounts store their domain: the rule ignores the port.
    return domainIsBlocked(blocked, new URL(actorUri).host);
  } catch {
    return false;
  }
}
