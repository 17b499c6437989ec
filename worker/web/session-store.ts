import { eq, lt, lte, or } from "drizzle-orm";
import type { Ctx } from "../context";
import { ownerSessions } from "../db/schema";
import { randomToken, sha256Hex } from "../oauth/secrets";

/**
 * The owner's browser sessions. The cookie carries a random token; D1 keeps only its SHA-256, so a
 * copy of the database signs no one in. A session lives 30 days from sign-in and ends sooner when
 * unused for 14; its last use is written at most once an hour, because every D1 write is billed.
 */
export const SESSION_TTL_SECONDS = 30 * 86_400;
const IDLE_MS = 14 * 86_400_000;
const TOUCH_MS = 3600_000;
const USER_AGENT_MAX = 512;

/** What a route behind the login knows of the session: its CSRF token and which row it is. */
export interface OwnerSession {
  csrfToken: string;
  tokenHash: string;
}

/** 32 random bytes in base64url: what `randomToken()` makes and nothing else is looked up. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Starts a session; the token is returned once, for the cookie, and never stored. */
export async function createSession(
  ctx: Ctx,
  userAgent: string | undefined,
): Promise<{ token: string; session: OwnerSession }> {
  const token = randomToken(32);
  const session = { tokenHash: await sha256Hex(token), csrfToken: randomToken(32) };
  const now = Date.now();
  await ctx.db.insert(ownerSessions).values({
    ...session,
    createdAt: new Date(now).toISOString(),
    lastSeenAt: new Date(now).toISOString(),
    expiresAt: new Date(now + SESSION_TTL_SECONDS * 1000).toISOString(),
    userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX) : null,
  });
  return { token, session };
}

/**
 * The live session a cookie's token names, or null. An expired or idle row found here is deleted;
 * a live one has its last use moved forward when the stored one is over an hour old.
 */
export async function findSession(ctx: Ctx, token: string | undefined): Promise<OwnerSession | null> {
  if (!token || !TOKEN.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const row = (
    await ctx.db.select().from(ownerSessions).where(eq(ownerSessions.tokenHash, tokenHash)).limit(1)
  )[0];
  if (!row) return null;
  const now = Date.now();
  const lastSeen = Date.parse(row.lastSeenAt);
  if (!(Date.parse(row.expiresAt) > now) || !(now - lastSeen <= IDLE_MS)) {
    await deleteSession(ctx, tokenHash);
    return null;
  }
  if (now - lastSeen > TOUCH_MS) {
    ctx.waitUntil(
      ctx.db
        .update(ownerSessions)
        .set({ lastSeenAt: new Date(now).toISOString() })
        .where(eq(ownerSessions.tokenHash, tokenHash))
        .then(
          () => undefined,
          (e: unknown) => console.error("could not record session use", e),
        ),
    );
  }
  return { tokenHash, csrfToken: row.csrfToken };
}

export async function deleteSession(ctx: Ctx, tokenHash: string): Promise<void> {
  await ctx.db.delete(ownerSessions).where(eq(ownerSessions.tokenHash, tokenHash));
}

/** Ends the session a cookie's token names, if it is one: a new sign-in replaces the old session. */
export async function deleteSessionOfToken(ctx: Ctx, token: string | undefined): Promise<void> {
  if (token && TOKEN.test(token)) await deleteSession(ctx, await sha256Hex(token));
}

/**
 * Deletes every expired or idle session: run at sign-in, so rows of browsers that never come back
 * do not stay forever. One statement, and it writes only the rows it removes.
 */
export async function deleteDeadSessions(ctx: Ctx): Promise<void> {
  const now = Date.now();
  await ctx.db
    .delete(ownerSessions)
    .where(
      or(
        lte(ownerSessions.expiresAt, new Date(now).toISOString()),
        lt(ownerSessions.lastSeenAt, new Date(now - IDLE_MS).toISOString()),
      ),
    );
}
