import { env } from "cloudflare:test";
import type { Account } from "../../worker/db/client";
import { follows } from "../../worker/db/schema";
import { processActivity } from "../../worker/federation/inbox";
import { newId } from "../../worker/lib/ids";
import { storeActor } from "../../worker/services/accounts";
import { testCtx } from "./app";
import { batchOf, followInsertCounts } from "../../worker/services/counters";

/** Runs one activity through the inbox consumer's dispatch, as the queue would. */
export async function process(
  activity: Record<string, unknown>,
  opts: { signer?: string; proofVerified?: boolean } = {},
): Promise<void> {
  await processActivity(testCtx(), {
    activity,
    signer: opts.signer ?? (activity.actor as string),
    proofVerified: opts.proofVerified ?? false,
    receivedAt: new Date().toISOString(),
  });
}

export async function owner(): Promise<Account> {
  return (await testCtx().instance()).owner;
}

export async function rows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(sql)
      .bind(...params)
      .all<T>()
  ).results;
}

/** Stores a remote actor (as if fetched) and makes the owner an accepted follower of it. */
export async function ownerFollows(actorDocument: Record<string, unknown>): Promise<Account> {
  const ctx = testCtx();
  const account = await storeActor(ctx, actorDocument);
  const me = await owner();
  const id = newId();
  const values = {
    id,
    accountId: me.id,
    targetAccountId: account.id,
    uri: `https://social.example.com/activities/${id}`,
    accepted: true,
  };
  // With the counts it changes, as every follow is written.
  await batchOf(ctx, [...followInsertCounts(ctx, values), ctx.db.insert(follows).values(values)]);
  return account;
}
