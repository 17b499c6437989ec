import * as activityStreams from "./activitystreams";
import * as dataIntegrityV1 from "./data-integrity-v1";
import * as identityV1 from "./identity-v1";
import * as multikeyV1 from "./multikey-v1";
import * as securityV1 from "./security-v1";

/**
 * The JSON-LD contexts Perch can process, bundled so that no context is ever fetched at run time:
 * the ones Mastodon signs with (ActivityStreams, security/v1, and identity/v1 for RsaSignature2017
 * options) and the ones Perch emits (data-integrity/v1, multikey/v1). Each module names where its
 * text came from. A document naming any other context cannot be processed.
 */
const CONTEXTS: ReadonlyMap<string, object> = new Map(
  [activityStreams, securityV1, identityV1, dataIntegrityV1, multikeyV1].map((c) => [c.url, c.document]),
);

export function bundledContext(url: string): object | undefined {
  return CONTEXTS.get(url);
}

export function isBundledContext(url: string): boolean {
  return CONTEXTS.has(url);
}
