import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { remoteKeys } from "../db/schema";
import { verifyLdSignature } from "../lib/ld-signatures";
import { decodeEd25519PublicKey } from "../lib/multikey";
import { verifyProof } from "../lib/proofs";
import { resolveAccount } from "../services/accounts";

/**
 * How a document that arrived through a third party (a relay, a forwarding server) is proven to be
 * its actor's own, from what arrived and without fetching the document again: an FEP-8b32 proof, or
 * the RsaSignature2017 LD signature Mastodon puts on public activities. Either key must belong to the
 * actor. null: neither verifies, and the document is only as good as whoever sent it.
 * https://codeberg.org/fediverse/fep/src/branch/main/fep/8b32/fep-8b32.md
 * https://docs.joinmastodon.org/spec/security/#ld
 */
export type DocumentAuthentication = "proof" | "ld_signature" | null;

type KeyRow = typeof remoteKeys.$inferSelect;
type KeyFinder = (keyId: string) => Promise<KeyRow | undefined>;

/**
 * The actor's key with that id, from D1. A key not cached yet (a forwarded activity from an author
 * never seen) costs one fetch of the actor from its origin, once per finder however many keys are
 * asked for. Only keys the actor lists as its own are ever stored under its uri.
 */
function keyFinder(ctx: Ctx, actor: string): KeyFinder {
  let resolved = false;
  const find = async (keyId: string) =>
    (await ctx.db.select().from(remoteKeys).where(eq(remoteKeys.keyId, keyId)).limit(1))[0];
  return async (keyId) => {
    let row = await find(keyId);
    if (!row && !resolved) {
      resolved = true;
      await resolveAccount(ctx, actor, { refresh: true }).catch(() => undefined);
      row = await find(keyId);
    }
    return row && row.ownerUri === actor ? row : undefined;
  };
}

export async function authenticateDocument(
  ctx: Ctx,
  raw: Record<string, unknown>,
  actorUri: string,
): Promise<DocumentAuthentication> {
  const findKey = keyFinder(ctx, actorUri);
  if (raw.proof !== undefined && (await checkProof(ctx, raw, actorUri, findKey))) return "proof";
  if (raw.signature !== undefined && (await checkLdSignature(ctx, raw, actorUri, findKey))) {
    return "ld_signature";
  }
  return null;
}

/** The document carries a valid FEP-8b32 proof by one of the actor's Ed25519 keys. */
export async function checkProof(
  ctx: Ctx,
  document: Record<string, unknown>,
  actor: string,
  findKey: KeyFinder = keyFinder(ctx, actor),
): Promise<boolean> {
  const result = await verifyProof(document, async (method) => {
    const row = await findKey(method);
    if (!row || row.kind !== "ed25519") return null;
    return decodeEd25519PublicKey(row.material);
  });
  return result.ok;
}

/** The document carries a valid RsaSignature2017 by one of the actor's RSA keys. */
export async function checkLdSignature(
  ctx: Ctx,
  document: Record<string, unknown>,
  actor: string,
  findKey: KeyFinder = keyFinder(ctx, actor),
): Promise<boolean> {
  const result = await verifyLdSignature(document, async (keyId) => {
    const row = await findKey(keyId);
    if (!row || row.kind !== "rsa") return null;
    return { ownerUri: row.ownerUri, publicKeyPem: row.material };
  });
  return result.ok && result.ownerUri === actor;
}
