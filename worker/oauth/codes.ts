import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { oauthCodes, oauthTokens } from "../db/schema";

// Authorization codes are single use: exchanging one marks it used and records the token it gave,
// and presenting it again is refused and revokes that token. "If an authorization code is used more
// than once, the authorization server MUST deny the request and SHOULD revoke (when possible) all
// tokens previously issued based on that authorization code." (RFC 6749 §4.1.2,
// https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2). The cron upkeep keeps a used code for a
// day, so that a replay is still recognised.

export type Code = typeof oauthCodes.$inferSelect;

/**
 * Marks an unused code of this app used, naming the token it is about to give (by hash); undefined
 * when there is no such code or it was used already.
 */
export async function claimCode(
  ctx: Ctx,
  codeHash: string,
  appId: string,
  tokenHash: string,
): Promise<Code | undefined> {
  const [row] = await ctx.db
    .update(oauthCodes)
    .set({ usedAt: new Date().toISOString(), tokenHash })
    .where(and(eq(oauthCodes.codeHash, codeHash), eq(oauthCodes.appId, appId), isNull(oauthCodes.usedAt)))
    .returning();
  return row;
}

/** After a code was presented again: the token it gave stops working. */
export async function revokeReplayedCode(ctx: Ctx, codeHash: string, appId: string): Promise<void> {
  const used = and(
    eq(oauthCodes.codeHash, codeHash),
    eq(oauthCodes.appId, appId),
    isNotNull(oauthCodes.usedAt),
  );
  await ctx.db.batch([
    ctx.db
      .delete(oauthTokens)
      .where(
        inArray(
          oauthTokens.tokenHash,
          ctx.db.select({ tokenHash: oauthCodes.tokenHash }).from(oauthCodes).where(used),
        ),
      ),
    ctx.db.update(oauthCodes).set({ tokenHash: null }).where(used),
  ]);
}

/**
 * Stores the user token a claimed code gives, with the code's app and scopes, unless a replay
 * revoked it since the claim (the code no longer names it). False when nothing was stored.
 */
export async function storeCodeToken(ctx: Ctx, codeHash: string, tokenHash: string): Promise<boolean> {
  // INSERT … SELECT, which drizzle builds only with every column listed.
  const result = await ctx.db.run(sql`
    INSERT INTO oauth_tokens (token_hash, app_id, scopes, user_token)
    SELECT token_hash, app_id, scopes, 1 FROM oauth_codes
    WHERE code_hash = ${codeHash} AND token_hash = ${tokenHash}`);
  return result.meta.changes === 1;
}
