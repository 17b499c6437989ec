import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { remoteKeys } from "../db/schema";
import type { KeyLookup } from "../lib/http-signatures";
import { storeActor } from "../services/accounts";
import { importKey, isolateKeys, remember } from "../services/known-keys";
import { fetchDocument } from "../services/signing";
import { Actor, Url } from "./schemas";

/** A key is refetched (rotation) at most this often. */
const REFETCH_INTERVAL_MS = 60_000;

type KeyRow = typeof remoteKeys.$inferSelect;

/**
 * Key lookup for signature checks. Keys come from D1 when cached; otherwise the keyId document is
 * fetched, and the key is accepted only if its owner is an actor that lists it. `ownerOf` then tells
 * which actor a verified keyId belongs to.
 */
export function createKeyLookup(ctx: Ctx): { lookup: KeyLookup; ownerOf(keyId: string): string | undefined } {
  const seen = new Map<string, KeyRow>();
  const lookup: KeyLookup = async (keyId, refresh) => {
    const cached = isolateKeys.get(keyId);
    if (cached && !refresh) {
      seen.set(keyId, cached.row);
      return cached.key;
    }
    if (!Url.safeParse(keyId).success) return null;
    let row = (await ctx.db.select().from(remoteKeys).where(eq(remoteKeys.keyId, keyId)).limit(1))[0];
    const recentlyFetched = row && Date.now() - Date.parse(row.fetchedAt) < REFETCH_INTERVAL_MS;
    if (!row || (refresh && !recentlyFetched)) {
      row = (await fetchKey(ctx, keyId)) ?? undefined;
    } else if (refresh) {
      return null; // rotated too recently to fetch again: the cached key already failed
    }
    if (!row) {
      isolateKeys.delete(keyId);
      return null;
    }
    seen.set(keyId, row);
    const key = await importKey(row);
    if (key) remember(row, key);
    return key;
  };
  return { lookup, ownerOf: (keyId) => seen.get(keyId)?.ownerUri };
}

async function fetchKey(ctx: Ctx, keyId: string): Promise<KeyRow | null> {
  const documentUrl = keyId.split("#")[0] as string;
  let doc: Record<string, unknown>;
  try {
    doc = (await fetchDocument(ctx, documentUrl)).document;
  } catch {
    return null;
  }
  let actorDoc: unknown = doc;
  if (!Actor.safeParse(doc).success) {
    // A standalone key document (some servers serve the key at its own URL): follow its owner.
    const owner =
      typeof doc.owner === "string" ? doc.owner : typeof doc.controller === "string" ? doc.controller : null;
    if (!owner || !Url.safeParse(owner).success) return null;
    try {
      actorDoc = (await fetchDocument(ctx, owner)).document;
    } catch {
      return null;
    }
  }
  try {
    await storeActor(ctx, actorDoc);
  } catch {
    return null;
  }
  // storeActor stored only the keys the actor lists as its own; the keyId must be among them.
  const row = (await ctx.db.select().from(remoteKeys).where(eq(remoteKeys.keyId, keyId)).limit(1))[0];
  return row ?? null;
}
