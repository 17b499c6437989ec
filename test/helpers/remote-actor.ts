import {
  generateRsaKeyPair,
  importRsaPrivateKey,
  signRequest,
  type SignatureScheme,
} from "../../worker/lib/http-signatures";
import { generateEd25519KeyPair } from "../../worker/lib/multikey";
import { createProof } from "../../worker/lib/proofs";

/**
 * A remote actor whose keys the test holds: its document is served at its id by the fetch mock, and it
 * can sign inbox POSTs the way a Mastodon server does.
 */
export interface RemoteActor {
  id: string;
  keyId: string;
  document: Record<string, unknown>;
  privateKey: CryptoKey;
  ed25519: { publicKeyMultibase: string; privateKeyMultibase: string; id: string };
  /** A signed POST of `activity` to `inbox`. */
  post(
    inbox: string,
    activity: unknown,
    opts?: { scheme?: SignatureScheme; body?: string; now?: Date },
  ): Promise<Request>;
  /** The activity with an FEP-8b32 proof by this actor. */
  prove(activity: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export async function createRemoteActor(
  id: string,
  extra: Record<string, unknown> = {},
): Promise<RemoteActor> {
  const rsa = await generateRsaKeyPair();
  const ed = await generateEd25519KeyPair();
  const privateKey = await importRsaPrivateKey(rsa.privateKey);
  const keyId = `${id}#main-key`;
  const origin = new URL(id).origin;
  const username = id.split("/").pop() as string;
  const edId = `${id}#ed25519-key`;
  const document = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id,
    type: "Person",
    preferredUsername: username,
    name: username[0]?.toUpperCase() + username.slice(1),
    summary: "<p>Hello <script>alert(1)</script>world</p>",
    url: `${origin}/@${username}`,
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    followers: `${id}/followers`,
    following: `${id}/following`,
    featured: `${id}/collections/featured`,
    endpoints: { sharedInbox: `${origin}/inbox` },
    manuallyApprovesFollowers: false,
    publicKey: { id: keyId, owner: id, publicKeyPem: rsa.publicKeyPem },
    assertionMethod: [
      { id: edId, type: "Multikey", controller: id, publicKeyMultibase: ed.publicKeyMultibase },
    ],
    ...extra,
  };
  return {
    id,
    keyId,
    document,
    privateKey,
    ed25519: { ...ed, id: edId },
    async post(inbox, activity, opts = {}) {
      const body = new TextEncoder().encode(opts.body ?? JSON.stringify(activity));
      const req = new Request(inbox, {
        method: "POST",
        headers: { "content-type": "application/activity+json" },
        body,
      });
      return signRequest(req, body, {
        keyId,
        privateKey,
        scheme: opts.scheme ?? "cavage",
        ...(opts.now ? { now: opts.now } : {}),
      });
    },
    prove: (activity) =>
      createProof(activity, { privateKeyMultibase: ed.privateKeyMultibase, verificationMethod: edId }),
  };
}
