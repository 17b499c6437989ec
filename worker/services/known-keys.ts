import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { remoteKeys } from "../db/schema";
import { importEd25519PublicKey, importPublicKeyPem } from "../lib/http-signatures";
import { isolateCache } from "../lib/isolate-cache";
import { decodeEd25519PublicKey } from "../lib/multikey";

type KeyRow = typeof remoteKeys.$inferSelect;

/**
 * Remote actors' public keys, imported, kept in this isolate for a few minutes so that a busy sender
 * (or a relay's authors, activity after activity) costs no D1 query and no key import per request.
 * A key that stops verifying is looked up again through D1 and its origin (federation/key-lookup.ts);
 * storing an actor forgets the keys it lists.
 */
export const isolateKeys = isolateCache<string, { row: KeyRow; key: CryptoKey }>({
  ttlMs: 10 * 60_000,
  max: 2000,
});

export function remember(row: KeyRow, key: CryptoKey): void {
  isolateKeys.set(row.keyId, { row, key });
}

export function forgetKeys(keyIds: string[]): void {
  for (const id of keyIds) isolateKeys.delete(id);
}

export async function importKey(row: KeyRow): Promise<CryptoKey | null> {
  try {
    return row.kind === "rsa"
      ? await importPublicKeyPem(row.material)
      : await importEd25519PublicKey(decodeEd25519PublicKey(row.material));
  } catch {
    return null;
  }
}

/**
 * A key already known (this isolate's cache, else D1), imported; nothing is fetched. For documents
 * that came through a third party (federation/document-auth.ts).
 */
export async function knownKey(
  ctx: Ctx,
  keyId: string,
): Promise<{ row: KeyRow; key: CryptoKey } | undefined> {
  const cached = isolateKeys.get(keyId);
  if (cached) return cached;
  const row = (await ctx.db.select().from(remoteKeys).where(eq(remoteKeys.keyId, keyId)).limit(1))[0];
  if (!row) return undefined;
  const key = await importKey(row);
  if (!key) return undefined;
  remember(row, key);
  return { row, key };
}
