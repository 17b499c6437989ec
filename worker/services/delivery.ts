import { and, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { accounts, follows, relays } from "../db/schema";
import { ACTIVITY_CONTEXT, PUBLIC_ALIASES } from "../federation/jsonld";
import { uris } from "../federation/uris";
import { createProof } from "../lib/proofs";
import { signLdSignature } from "../lib/ld-signatures";
import { localKeys } from "./signing";
import { queueDelivery } from "../queues/delivery-packs";
import { markFederated } from "./instance";

export interface Audience {
  /** Deliver to every accepted follower of the owner. */
  followers?: boolean;
  /** And to these accounts (mentioned, replied to, followed …). */
  accounts?: Account[];
}

/**
 * Publishes an activity by the owner: adds the JSON-LD context and an FEP-8b32 proof, serializes it
 * once, and queues it for its target inboxes (shared inboxes deduplicated) in packs of a few inboxes
 * per message (queues/delivery-packs.ts). Each inbox gets its own signed POST at send time, in the
 * delivery consumer. Returns the number of inboxes.
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
  const relayInboxes =
    RELAYED_TYPES.has(String(activity.type)) && isPublic(activity) ? await mastodonRelayInboxes(ctx) : [];
  for (const r of relayInboxes) inboxes.delete(r);
  if (inboxes.size === 0 && relayInboxes.length === 0) return 0;
  const since = new Date().toISOString();
  if (inboxes.size > 0) {
    const body = JSON.stringify(await signActivity(ctx, activity));
    await queueDelivery(ctx.env, [...inboxes], body, { signer: "owner", since });
  }
  if (relayInboxes.length > 0) {
    // What Mastodon-style relays pass on must prove itself to servers that never heard of Perch:
    // Mastodon checks an LD signature by the author on relayed content (an FEP-8b32 proof and an LD
    // signature cannot both sign one document, each covering the other, so relays get this copy).
    const body = JSON.stringify(await ldSignedActivity(ctx, activity));
    await queueDelivery(ctx.env, relayInboxes, body, { signer: "owner", since });
  }
  await markFederated(ctx.db);
  return inboxes.size + relayInboxes.length;
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

/** What Mastodon sends its relays: public posts, their edits and deletions, and public boosts. */
const RELAYED_TYPES = new Set(["Create", "Update", "Delete", "Announce"]);

function isPublic(activity: Record<string, unknown>): boolean {
  const to = ([] as unknown[]).concat(activity.to ?? [], activity.cc ?? []);
  return to.some((a) => typeof a === "string" && PUBLIC_ALIASES.has(a));
}

/** The inboxes of accepted, enabled Mastodon-style relays. */
async function mastodonRelayInboxes(ctx: Ctx): Promise<string[]> {
  const rows = await ctx.db
    .select({ inbox: relays.inbox })
    .from(relays)
    .where(and(eq(relays.protocol, "mastodon"), eq(relays.state, "accepted"), eq(relays.enabled, true)));
  return rows.map((r) => r.inbox);
}

/** The activity with @context and an RsaSignature2017 LD signature by the owner's key. */
export async function ldSignedActivity(
  ctx: Ctx,
  activity: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const doc = activity["@context"] ? activity : { "@context": ACTIVITY_CONTEXT, ...activity };
  const { owner } = await localKeys(ctx);
  return signLdSignature(doc, { keyId: owner.keyId, privateKey: owner.privateKey });
}
