import type { Ctx } from "../context";
import type { remoteKeys } from "../db/schema";
import { verifyLdSignature } from "../lib/ld-signatures";
import { decodeEd25519PublicKey } from "../lib/multikey";
import { verifyProof } from "../lib/proofs";
import { resolveAccount } from "../services/accounts";
import { knownKey } from "../services/known-keys";

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
type KeyFinder = (keyId: string) => Promise<{ row: KeyRow; key: CryptoKey } | undefined>;

/**
 * The actor's key with that id, as known (this isolate's cache, else D1). A key not known yet (a
 * forwarded activity from an author never seen) costs one fetch of the actor from its origin, once
 * per finder however many keys are asked for. Only keys the actor lists as its own are ever stored
 * under its uri.
 */
function keyFinder(ctx: Ctx, actor: string, opts: { fetch?: boolean } = {}): KeyFinder {
  let resolved = opts.fetch === false;
  return async (keyId) => {
    let found = await knownKey(ctx, keyId);
    if (!found && !resolved) {
      resolved = true;
      await resolveAccount(ctx, actor, { refresh: true }).catch(() => undefined);
      found = await knownKey(ctx, keyId);
    }
    return found && found.row.ownerUri === actor ? found : undefined;
  };
}

/** `fetch: false`: only keys already known count; an author never seen is not fetched. */
export async function authenticateDocument(
  ctx: Ctx,
  raw: Record<string, unknown>,
  actorUri: string,
  opts: { fetch?: boolean } = {},
): Promise<DocumentAuthentication> {
  const findKey = keyFinder(ctx, actorUri, opts);
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
    const found = await findKey(method);
    if (!found || found.row.kind !== "ed25519") return null;
    return decodeEd25519PublicKey(found.row.material);
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
    const found = await findKey(keyId);
    if (!found || found.row.kind !== "rsa") return null;
    return { ownerUri: found.row.ownerUri, publicKey: found.key };
  });
  return result.ok && result.ownerUri === actor;
}
