import type { Ctx } from "../context";
import { uris } from "../federation/uris";
import { importRsaPrivateKey, signRequest, type SignatureScheme } from "../lib/http-signatures";
import { eq } from "drizzle-orm";
import { hosts } from "../db/schema";
import { fetchActivityPub, RemoteFetchError, type FetchOptions } from "../lib/remote-fetch";

export interface LocalKey {
  keyId: string;
  privateKey: CryptoKey;
}

const cache = new WeakMap<Ctx, Promise<{ owner: LocalKey; instance: LocalKey }>>();

/** The owner's and the instance actor's RSA private keys, imported once per Ctx. */
export function localKeys(ctx: Ctx): Promise<{ owner: LocalKey; instance: LocalKey }> {
  let keys = cache.get(ctx);
  if (!keys) {
    keys = (async () => {
      const { row } = await ctx.instance();
      const u = uris(ctx.config);
      const [owner, instance] = await Promise.all([
        importRsaPrivateKey(row.rsaPrivateKey),
        importRsaPrivateKey(row.appRsaPrivateKey),
      ]);
      return {
        owner: { keyId: u.mainKey, privateKey: owner },
        instance: { keyId: u.instanceKey, privateKey: instance },
      };
    })();
    cache.set(ctx, keys);
  }
  return keys;
}

export function userAgent(ctx: Ctx): string {
  return `Perch/0.1.0 (+${uris(ctx.config).base}/)`;
}

/** Options for fetching remote documents, signed by the instance actor (authorized-fetch servers need it). */
export function fetchOptions(ctx: Ctx, scheme: SignatureScheme = "cavage"): FetchOptions {
  return {
    allowLoopback: ctx.config.allowLoopback,
    userAgent: userAgent(ctx),
    sign: async (request) => {
      const { instance } = await localKeys(ctx);
      return signRequest(request, null, { ...instance, scheme });
    },
  };
}

/** The signature format a host is known to want ("cavage" unless it refused one with 401). */
export async function hostScheme(ctx: Ctx, host: string): Promise<SignatureScheme> {
  const row = (
    await ctx.db.select({ s: hosts.signatureScheme }).from(hosts).where(eq(hosts.host, host)).limit(1)
  )[0];
  return row?.s === "rfc9421" ? "rfc9421" : "cavage";
}

export async function rememberScheme(ctx: Ctx, host: string, scheme: SignatureScheme): Promise<void> {
  await ctx.db
    .insert(hosts)
    .values({ host, signatureScheme: scheme })
    .onConflictDoUpdate({ target: hosts.host, set: { signatureScheme: scheme } });
}

/**
 * Fetches an ActivityPub document with a GET signed by the instance actor: draft-cavage first; a 401
 * is retried once with RFC 9421, and a host that accepts that is remembered.
 */
export async function fetchDocument(
  ctx: Ctx,
  url: string,
): Promise<{ url: string; document: Record<string, unknown> }> {
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    throw new RemoteFetchError("invalid_url", url);
  }
  const scheme = await hostScheme(ctx, host);
  try {
    return await fetchActivityPub(url, fetchOptions(ctx, scheme));
  } catch (e) {
    if (!(e instanceof RemoteFetchError && e.status === 401 && scheme === "cavage")) throw e;
    const result = await fetchActivityPub(url, fetchOptions(ctx, "rfc9421"));
    await rememberScheme(ctx, host, "rfc9421");
    return result;
  }
}
