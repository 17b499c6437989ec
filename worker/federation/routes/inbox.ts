import { Hono } from "hono";
import { eq, sql } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Ctx } from "../../context";
import { readBodyCapped, MAX_INBOX_BODY } from "../../lib/body";
import { badRequest, HttpError, notFound, unauthorized } from "../../lib/errors";
import { verifyRequest, type VerifyFailure } from "../../lib/http-signatures";
import { MAX_ACTIVITY_DEPTH, nestsDeeperThan } from "../../lib/json-depth";
import { INLINE_MESSAGE_BYTES, type InboxMessage } from "../../queues/messages";
import { inboxSeen } from "../../db/schema";
import { createKeyLookup } from "../key-lookup";
import { Activity, hostOf, objectId } from "../schemas";
import { uris } from "../uris";
import { relayControl, receiveFromRelay } from "../relay-inbox";
import { authenticateDocument, checkProof } from "../document-auth";
import { relayForSigner } from "../../services/relays";
import { countRelayed } from "../../services/relay-accounting";

/**
 * The personal and shared inbox. The fast path only: size, digest and signature, origin checks,
 * deduplication by activity id, then the queue and 202. Everything slow happens in the consumer.
 * https://www.w3.org/TR/activitypub/#inbox
 */
export const inbox = new Hono<AppEnv>();

inbox.post("/inbox", (c) => receive(c.var.ctx, c.req.raw));
// The instance actor's inbox: what peers send it (relay answers, deletes) is handled like the shared inbox.
inbox.post("/actor/inbox", (c) => receive(c.var.ctx, c.req.raw));
inbox.post("/users/:username/inbox", (c) => {
  if (c.req.param("username").toLowerCase() !== c.var.ctx.config.username.toLowerCase()) throw notFound();
  return receive(c.var.ctx, c.req.raw);
});

/** Forwarded without a proof, these are accepted because their object is fetched again from its origin. */
export const REFETCHABLE_TYPES = new Set(["Create", "Update"]);

/** Types whose object must live on the actor's own host. */
const OWNED_OBJECT_TYPES = new Set(["Create", "Update", "Delete"]);

/**
 * Activities that set a state rather than add something, which peers legitimately send again with
 * the same id (an Accept per follower, a Follow after an Undo, a Block after an unblock, a Move
 * repeated): they are processed every time, never dropped as duplicates. Handling them twice is
 * harmless by design.
 */
export const REPEATABLE_TYPES = new Set([
  "Follow",
  "Accept",
  "Reject",
  "Undo",
  "Block",
  "Move",
  "Add",
  "Remove",
]);

export async function receive(ctx: Ctx, request: Request): Promise<Response> {
  const body = await readBodyCapped(request, MAX_INBOX_BODY);
  if (!request.headers.has("signature") && !request.headers.has("authorization")) {
    throw unauthorized("Request not signed", "missing");
  }
  const keys = createKeyLookup(ctx);
  const verified = await verifyRequest(request, keys.lookup, { body });
  if (!verified.ok) throw signatureError(verified.reason);
  const signer = keys.ownerOf(verified.keyId);
  if (!signer) throw unauthorized("Signing key has no known owner", "unknown_key");
  // Relay traffic goes its own way (federation/relay-inbox.ts), counted from here on.
  const relay = await relayForSigner(ctx, signer);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    if (relay) countRelayed(ctx, relay.id, "invalid");
    throw badRequest("Body is not valid JSON", "bad_json");
  }
  if (nestsDeeperThan(json, MAX_ACTIVITY_DEPTH)) {
    if (relay) countRelayed(ctx, relay.id, "invalid");
    throw badRequest(`Body nests deeper than ${MAX_ACTIVITY_DEPTH} levels`, "too_deep");
  }
  if (relay) {
    return (await relayControl(ctx, relay, json, signer)) ?? (await receiveFromRelay(ctx, relay, json));
  }
  const parsed = Activity.safeParse(json);
  if (!parsed.success) {
    throw badRequest(
      `Not a valid activity: ${parsed.error.issues[0]?.path.join(".") || "body"} ${parsed.error.issues[0]?.message ?? ""}`.trim(),
      "invalid_activity",
    );
  }
  const activity = parsed.data;
  const raw = json as Record<string, unknown>;

  // The owner's own activities come back when a peer forwards them (a reply, like or boost of one of
  // its posts, sent on to its followers): there is nothing to learn from them.
  if (isLocalActor(ctx, activity.actor)) return new Response(null, { status: 202 });

  // Origin checks. A forwarded activity (signed by someone other than its actor) is accepted when its
  // actor's own signature is in the document (an FEP-8b32 proof, or the LD signature Mastodon puts on
  // public activities), or for a Create or Update whose object the consumer re-fetches from its
  // origin; anything else from a third party is refused. A proof that is present must verify.
  let proofVerified = false;
  if (signer !== activity.actor) {
    proofVerified = (await authenticateDocument(ctx, raw, activity.actor)) !== null;
    if (!proofVerified && raw.proof !== undefined)
      throw unauthorized("Object integrity proof does not verify", "bad_proof");
  } else if (raw.proof !== undefined) {
    proofVerified = await checkProof(ctx, raw, activity.actor);
    if (!proofVerified) throw unauthorized("Object integrity proof does not verify", "bad_proof");
  }
  const authentic = signer === activity.actor || proofVerified;
  if (!authentic && !REFETCHABLE_TYPES.has(activity.type)) {
    throw unauthorized("Signer is not the activity's actor", "actor_mismatch");
  }
  if (hostOf(activity.id) !== hostOf(activity.actor)) {
    throw badRequest("Activity id is not on the actor's host", "id_origin");
  }
  if (OWNED_OBJECT_TYPES.has(activity.type)) {
    const oid = objectId(activity.object);
    if (!oid) throw badRequest(`${activity.type} has no object`, "no_object");
    if (hostOf(oid) !== hostOf(activity.actor))
      throw badRequest("Object is not on the actor's host", "object_origin");
  }

  // Deduplication by id. Only an authenticated activity may claim its id: a third party forwarding
  // an unproven copy must not make the genuine one look like a duplicate later (it is only checked
  // against what was already seen). Repeatable types are never deduplicated.
  const dedupe = !REPEATABLE_TYPES.has(activity.type);
  if (dedupe && authentic) {
    const fresh = await ctx.db.run(
      sql`INSERT INTO inbox_seen (activity_id) VALUES (${activity.id}) ON CONFLICT DO NOTHING`,
    );
    if (fresh.meta.changes === 0) return new Response(null, { status: 202 });
  } else if (dedupe) {
    const seen = await ctx.db
      .select({ id: inboxSeen.activityId })
      .from(inboxSeen)
      .where(eq(inboxSeen.activityId, activity.id))
      .limit(1);
    if (seen.length > 0) return new Response(null, { status: 202 });
  }

  try {
    await enqueue(ctx, raw, activity, { signer, proofVerified, body });
  } catch {
    // Forget the id so the sender's retry is not taken for a duplicate.
    if (dedupe && authentic) {
      await ctx.db.run(sql`DELETE FROM inbox_seen WHERE activity_id = ${activity.id}`);
    }
    throw new HttpError(503, "Inbox queue unavailable, retry later", "queue_unavailable", {
      "retry-after": "60",
    });
  }
  return new Response(null, { status: 202 });
}

/**
 * Queues the activity. One that would not fit in a queue message (they are capped at 128 KB; the
 * inbox accepts 1 MB) is kept in R2 and the message carries its key; the consumer deletes it once
 * the activity is handled.
 */
async function enqueue(
  ctx: Ctx,
  raw: Record<string, unknown>,
  activity: Activity,
  { signer, proofVerified, body }: { signer: string; proofVerified: boolean; body: ArrayBuffer },
) {
  const envelope = {
    id: activity.id,
    type: activity.type,
    signer,
    proofVerified,
    receivedAt: new Date().toISOString(),
  };
  // The activity serialized again is never longer than the body it was parsed from (parsing only
  // removes whitespace and escapes), so the body's size and the envelope's bound the message's.
  const envelopeBytes = new TextEncoder().encode(JSON.stringify(envelope)).byteLength;
  if (body.byteLength + envelopeBytes + 64 <= INLINE_MESSAGE_BYTES) {
    await ctx.env.INBOX_QUEUE.send({ ...envelope, activity: raw } satisfies InboxMessage, {
      contentType: "json",
    });
    return;
  }
  // The body as received, already checked against its Digest: nothing is serialized again.
  const payload = `inbox/${crypto.randomUUID()}.json`;
  await ctx.env.MEDIA.put(payload, body, {
    httpMetadata: { contentType: "application/activity+json" },
  });
  try {
    await ctx.env.INBOX_QUEUE.send({ ...envelope, payload } satisfies InboxMessage, { contentType: "json" });
  } catch (e) {
    await ctx.env.MEDIA.delete(payload).catch(() => undefined);
    throw e;
  }
}

function isLocalActor(ctx: Ctx, actor: string): boolean {
  const u = uris(ctx.config);
  return actor === u.actor || actor === u.instanceActor;
}

function signatureError(reason: VerifyFailure): HttpError {
  if (reason === "digest_mismatch") return badRequest("Digest does not match the body", reason);
  if (reason === "malformed") return badRequest("Signature header is malformed", reason);
  const messages: Record<VerifyFailure, string> = {
    missing: "Request not signed",
    malformed: "Signature header is malformed",
    unsupported_algorithm: "Signature algorithm not supported",
    headers_not_covered: "Signature does not cover the required headers",
    expired: "Signature date is too old",
    future: "Signature date is in the future",
    digest_missing: "Digest header is missing",
    digest_mismatch: "Digest does not match the body",
    unknown_key: "Signing key could not be found",
    bad_signature: "Signature does not verify",
  };
  return unauthorized(messages[reason], reason);
}
