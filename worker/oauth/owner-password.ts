import { eq, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { ownerLogin } from "../db/schema";
import { newSalt, pbkdf2, PBKDF2_ITERATIONS, timingSafeEqual } from "./secrets";

/** After this many failures in a row, logins wait; each further failure doubles the wait. */
const FREE_FAILURES = 5;

export type LoginResult = "ok" | "wrong" | "locked" | "not_configured";

/**
 * Checks the owner's password against its PBKDF2 hash in D1. The hash is made from the
 * OWNER_PASSWORD secret on first use, and made again when the secret has changed since. Failed
 * attempts are counted and throttled.
 */
export async function checkOwnerPassword(ctx: Ctx, typed: string): Promise<LoginResult> {
  const secret = ctx.env.OWNER_PASSWORD;
  if (!secret) return "not_configured";
  let row = (await ctx.db.select().from(ownerLogin).where(eq(ownerLogin.id, 1)).limit(1))[0];
  if (row?.lockedUntil && Date.parse(row.lockedUntil) > Date.now()) return "locked";
  if (!row) {
    const salt = newSalt();
    const hash = await pbkdf2(secret, salt, PBKDF2_ITERATIONS);
    await ctx.db
      .insert(ownerLogin)
      .values({ id: 1, salt, iterations: PBKDF2_ITERATIONS, hash })
      .onConflictDoNothing();
    row = (await ctx.db.select().from(ownerLogin).where(eq(ownerLogin.id, 1)).limit(1))[0];
    if (!row) throw new Error("owner_login row missing");
  }
  const typedHash = await pbkdf2(typed, row.salt, row.iterations);
  let ok = timingSafeEqual(typedHash, row.hash);
  if (!ok) {
    // The secret may have been changed with `wrangler secret put`: re-hash it once and compare again.
    const current = await pbkdf2(secret, row.salt, row.iterations);
    if (!timingSafeEqual(current, row.hash)) {
      const salt = newSalt();
      const hash = await pbkdf2(secret, salt, PBKDF2_ITERATIONS);
      await ctx.db
        .update(ownerLogin)
        .set({ salt, hash, iterations: PBKDF2_ITERATIONS })
        .where(eq(ownerLogin.id, 1));
      ok = timingSafeEqual(await pbkdf2(typed, salt, PBKDF2_ITERATIONS), hash);
    }
  }
  if (ok) {
    await ctx.db.update(ownerLogin).set({ failures: 0, lockedUntil: null }).where(eq(ownerLogin.id, 1));
    return "ok";
  }
  await ctx.db.run(sql`
    UPDATE owner_login SET failures = failures + 1,
      locked_until = CASE WHEN failures + 1 >= ${FREE_FAILURES}
        THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || MIN(3600, 30 * (1 << MIN(10, failures + 1 - ${FREE_FAILURES}))) || ' seconds')
        ELSE NULL END
    WHERE id = 1`);
  return "wrong";
}
