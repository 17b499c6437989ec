import { and, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { accounts, follows } from "../db/schema";
import { ACTIVITY_CONTEXT } from "../federation/jsonld";
import { uris } from "../federation/uris";
import { createProof } from "../lib/proofs";
import type { DeliveryMessage } from "../queues/messages";
import { markFederated } from "./instance";

/** Queues accept at most 100 messages per sendBatch. */
const BATCH = 100;

export interface Audience {
  /** Deliver to every accepted follower of the owner. */
  followers?: boolean;
  /** And to these accounts (mentioned, replied to, followed …). */
  accounts?: Account[];
}

/**
 * Publishes an activity by the owner: adds the JSON-LD context and an FEP-8b32 proof, serializes it
 * once, and queues one message per target inbox, shared inboxes deduplicated. Signing happens at send
 * time in the delivery consumer.
 */
export async function deliver(
  ctx: Ctx,
  activity: Record<string, unknown>,
  audience: Audience,
): Promise<number> {
  const inboxes = new Set<string>();
  const add = (a: Pick<Account, "local" | "inbox" | "sharedInbox">) => {
    if (a.local) return;
    const target = a.sharedInbox ?? a.inbox;
    if (target) inboxes.add(target);
  };
  for (const a of audience.accounts ?? []) add(a);
  if (audience.followers) {
    const { owner } = await ctx.instance();
    const rows = await ctx.db
      .select({ local: accounts.local, inbox: accounts.inbox, sharedInbox: accounts.sharedInbox })
      .from(follows)
      .innerJoin(accounts, eq(accounts.id, follows.accountId))
      .where(and(eq(follows.targetAccountId, owner.id), eq(follows.accepted, true)));
    rows.forEach(add);
  }
  if (inboxes.size === 0) return 0;
  const body = JSON.stringify(await signActivity(ctx, activity));
  const since = new Date().toISOString();
  const messages: MessageSendRequest<DeliveryMessage>[] = [...inboxes].map((inbox) => ({
    body: { inbox, body, signer: "owner", since },
    contentType: "json",
  }));
  for (let i = 0; i < messages.length; i += BATCH) {
    await ctx.env.DELIVERY_QUEUE.sendBatch(messages.slice(i, i + BATCH));
  }
  await markFederated(ctx.db);
  return inboxes.size;
}

/** The activity with @context and an eddsa-jcs-2022 proof by the owner's Ed25519 key. */
export async function signActivity(
  ctx: Ctx,
  activity: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { row } = await ctx.instance();
  const doc = activity["@context"] ? activity : { "@context": ACTIVITY_CONTEXT, ...activity };
  return createProof(doc, {
    privateKeyMultibase: row.ed25519PrivateKey,
    verificationMethod: uris(ctx.config).ed25519Key,
  });
}
