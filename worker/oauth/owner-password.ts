import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { ownerLogin } from "../db/schema";
import { onForgetIsolateCaches } from "../lib/isolate-cache";
import { admitAttempt, checkLocks, clientKey, releaseAttempt } from "./login-throttle";
import { newSalt, pbkdf2, PBKDF2_ITERATIONS, sha256Hex, timingSafeEqual } from "./secrets";

export type LoginResult =
  | { kind: "ok" }
  | { kind: "wrong" }
  | { kind: "locked"; retryAfterSeconds: number }
  | { kind: "not_configured" };

/** How long a verified password is remembered in this isolate, so that owner API calls skip PBKDF2. */
const REMEMBER_MS = 5 * 60_000;

type OwnerLogin = typeof ownerLogin.$inferSelect;

// Per-isolate memory, filled by checks, never built from the environment. `verified` holds the
// digests of the typed password and of OWNER_PASSWORD together with the stored hash they were
// verified against; `current` the stored hash known to be made from that secret.
let verified: { key: string; rowHash: string; until: number } | undefined;
let current: { rowHash: string; secretDigest: string } | undefined;
// Passwords being checked right now in this isolate, by memo key. A marker, not the check's promise:
// Workers ties a promise to the request that made it, and another request awaiting it may hang.
const checking = new Set<string>();
const WAIT_STEP_MS = 20;
const WAIT_MAX_MS = 2000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
onForgetIsolateCaches(() => {
  verified = undefined;
  current = undefined;
  checking.clear();
});

/**
 * Checks a typed owner password: the one way in for the authorization page, the owner API and the
 * web login. Every attempt goes through the throttle in ./login-throttle.ts first (a locked client
 * is refused even with the right password), then PBKDF2 against the hash in D1.
 *
 * @param client the client's address (`CF-Connecting-IP`); without one, all such clients are one.
 */
export async function checkOwnerPassword(
  ctx: Ctx,
  typed: string,
  client: string | undefined,
): Promise<LoginResult> {
  const secret = ctx.env.OWNER_PASSWORD;
  if (!secret) return { kind: "not_configured" };
  // Never the password, so not worth an attempt (a browser asks without credentials first).
  if (!typed) return { kind: "wrong" };
  const [key, digest, secretDigest] = await Promise.all([
    clientKey(client),
    sha256Hex(typed),
    sha256Hex(secret),
  ]);
  const memoKey = `${digest}:${secretDigest}`;
  // A burst of calls with one password costs one attempt: the others wait for it (each in its own
  // request, polling), then find it remembered.
  for (let waited = 0; checking.has(memoKey) && waited < WAIT_MAX_MS; waited += WAIT_STEP_MS) {
    await sleep(WAIT_STEP_MS);
  }
  if (verified && verified.until > Date.now() && timingSafeEqual(verified.key, memoKey)) {
    const known = verified;
    const now = new Date();
    const [locks, row] = await Promise.all([checkLocks(ctx, key, now), storedLogin(ctx)]);
    if (row?.hash === known.rowHash) {
      return locks.locked ? { kind: "locked", retryAfterSeconds: locks.retryAfterSeconds } : { kind: "ok" };
    }
  }
  checking.add(memoKey);
  try {
    return await checkAttempt(ctx, typed, secret, secretDigest, key, memoKey);
  } finally {
    checking.delete(memoKey);
  }
}

async function checkAttempt(
  ctx: Ctx,
  typed: string,
  secret: string,
  secretDigest: string,
  key: string,
  memoKey: string,
): Promise<LoginResult> {
  const now = new Date();
  const [attempt, stored] = await Promise.all([admitAttempt(ctx, key, now), storedLogin(ctx)]);
  if (!attempt.admitted) return { kind: "locked", retryAfterSeconds: attempt.retryAfterSeconds };
  const row = await fromCurrentSecret(ctx, stored, secret, secretDigest);
  if (!timingSafeEqual(await pbkdf2(typed, row.salt, row.iterations), row.hash)) return { kind: "wrong" };
  await releaseAttempt(ctx, key, attempt, now);
  verified = { key: memoKey, rowHash: row.hash, until: Date.now() + REMEMBER_MS };
  return { kind: "ok" };
}

async function storedLogin(ctx: Ctx): Promise<OwnerLogin | undefined> {
  return (await ctx.db.select().from(ownerLogin).where(eq(ownerLogin.id, 1)).limit(1))[0];
}

/**
 * The stored hash, made from OWNER_PASSWORD on first use and made again when the secret has changed
 * (`wrangler secret put`), before any typed password is compared with it: an old password stops
 * working at once. Whether the hash is the secret's costs a PBKDF2, so it is known once per isolate
 * and stored hash.
 */
async function fromCurrentSecret(
  ctx: Ctx,
  row: OwnerLogin | undefined,
  secret: string,
  secretDigest: string,
): Promise<OwnerLogin> {
  if (row && current?.rowHash === row.hash && current.secretDigest === secretDigest) return row;
  if (row && timingSafeEqual(await pbkdf2(secret, row.salt, row.iterations), row.hash)) {
    current = { rowHash: row.hash, secretDigest };
    return row;
  }
  const salt = newSalt();
  const fresh = {
    id: 1,
    salt,
    iterations: PBKDF2_ITERATIONS,
    hash: await pbkdf2(secret, salt, PBKDF2_ITERATIONS),
  };
  await ctx.db
    .insert(ownerLogin)
    .values(fresh)
    .onConflictDoUpdate({
      target: ownerLogin.id,
      set: { salt: fresh.salt, iterations: fresh.iterations, hash: fresh.hash },
    });
  current = { rowHash: fresh.hash, secretDigest };
  return fresh;
}
