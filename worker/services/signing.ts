import type { Ctx } from "../context";
import { uris } from "../federation/uris";
import { importRsaPrivateKey, signRequest, type SignatureScheme } from "../lib/http-signatures";
import { eq } from "drizzle-orm";
import { hosts } from "../db/schema";
import { fetchActivityPub, RemoteFetchError, type FetchOptions } from "../lib/remote-fetch";
import { isolateCache } from "../lib/isolate-cache";

export interface LocalKey {
  keyId: string;
  privateKey: CryptoKey;
}

const cache = new WeakMap<Ctx, Promise<{ owner: LocalKey; instance: LocalKey }>>();

type LocalKeys = { owner: LocalKey; instance: LocalKey };

/**
 * The keys as imported in this isolate, by the key ids they sign as: they are made once with the
 * server's identity and never change, so a signed fetch needs no D1 read for them.
 */
const local = isolateCache<string, LocalKeys>({ ttlMs: 24 * 60 * 60_000, max: 4 });

/** The owner's and the instance actor's RSA private keys, imported once per isolate. */
export function localKeys(ctx: Ctx): Promise<LocalKeys> {
  let keys = cache.get(ctx);
  if (!keys) {
    const u = uris(ctx.config);
    const known = local.get(`${u.mainKey} ${u.instanceKey}`);
    if (known) return Promise.resolve(known);
    keys = (async () => {
      const { row } = await ctx.instance();
      const [owner, instance] = await Promise.all([
        importRsaPrivateKey(row.rsaPrivateKey),
        importRsaPrivateKey(row.appRsaPrivateKey),
      ]);
      const made = {
        owner: { keyId: u.mainKey, privateKey: owner },
        instance: { keyId: u.instanceKey, privateKey: instance },
      };
      local.set(`${u.mainKey} ${u.instanceKey}`, made);
      return made;
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

/** Hosts' signature formats as read in this isolate: fetching from one origin again and again costs no query each. */
const schemes = isolateCache<string, SignatureScheme>({ ttlMs: 5 * 60_000, max: 1000 });

/** The signature format a host is known to want ("cavage" unless it refused one with 401). */
export async function hostScheme(ctx: Ctx, host: string): Promise<SignatureScheme> {
  const cached = schemes.get(host);
  if (cached) return cached;
  const row = (
    await ctx.db.select({ s: hosts.signatureScheme }).from(hosts).where(eq(hosts.host, host)).limit(1)
  )[0];
  const scheme = row?.s === "rfc9421" ? "rfc9421" : "cavage";
  schemes.set(host, scheme);
  return scheme;
}

export async function rememberScheme(ctx: Ctx, host: string, scheme: SignatureScheme): Promise<void> {
  await ctx.db
    .insert(hosts)
    .values({ host, signatureScheme: scheme })
    .onConflictDoUpdate({ target: hosts.host, set: { signatureScheme: scheme } });
  schemes.set(host, scheme);
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
