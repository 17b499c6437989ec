import type { Ctx } from "../context";
import { uris } from "../federation/uris";
import { importRsaPrivateKey, signRequest, type SignatureScheme } from "../lib/http-signatures";
import type { FetchOptions } from "../lib/remote-fetch";

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
