import { and, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { blocks, domainBlocks, followedTags, follows } from "../db/schema";
import { normalizeTag } from "../lib/text/hashtags";
import { HttpError } from "../lib/errors";
import { onForgetIsolateCaches } from "../lib/isolate-cache";
import { RemoteFetchError } from "../lib/remote-fetch";
import { InvalidActorError, resolveAuthor } from "../services/accounts";
import { countRelayed, type Bucket } from "../services/relay-accounting";
import { budgetVerdict, passesFilters } from "../services/relay-budgets";
import {
  deleteRelayPost,
  findRelayPostByUri,
  insertRelayPost,
  isHeld,
  relayPostValues,
  updateRelayPost,
} from "../services/relay-posts";
import { relayByFollowId, setRelayState, sendToRelay, type Relay } from "../services/relays";
import { InvalidObjectError, parseNote, storeRemoteNote } from "../services/remote-statuses";
import { fetchDocument } from "../services/signing";
import { domainIsBlocked } from "../services/visibility";
import { AS_CONTEXT } from "./jsonld";
import { authenticateDocument } from "./document-auth";
import { Activity, hostOf, objectId, type Note } from "./schemas";
import { uris } from "./uris";

/**
 * What a relay sends, handled in the inbox request itself: never through the inbox queue, so relay
 * traffic neither waits behind nor delays what followed accounts send, and costs no Queue operation.
 * Each activity ends in exactly one bucket (services/relay-accounting.ts), in this order of checks:
 * invalid → filtered (relay off, not relay content, blocked) → duplicate (before any fetch) →
 * filtered by the relay's filters → capped / sampled (before any fetch) → unauthenticated (neither
 * the author's proof nor LD signature, nor a copy fetched from its origin) → stored.
 *
 * A failure that is not the activity's fault (D1 or the network on our side) answers 503 without
 * counting, so that the relay sends it again and the retry is what gets counted.
 */
export async function receiveFromRelay(ctx: Ctx, relay: Relay, json: unknown): Promise<Response> {
  let bucket: Bucket;
  try {
    bucket = await classify(ctx, relay, json);
  } catch (e) {
    // Not the activity's fault (D1, our side of the network): the relay sends it again, and that
    // attempt is what gets counted.
    console.error("relay: could not handle an activity; asking the relay to retry", e);
    throw new HttpError(503, "Could not handle this activity now, retry later", "relay_retry", {
      "retry-after": "60",
    });
  }
  countRelayed(ctx, relay.id, bucket);
  return new Response(null, { status: bucket === "invalid" ? 400 : 202 });
}

/** Relay protocol messages (answers to our Follow, the LitePub relay following us back). */
export async function relayControl(
  ctx: Ctx,
  relay: Relay,
  json: unknown,
  signer: string,
): Promise<Response | null> {
  const parsed = Activity.safeParse(json);
  if (!parsed.success) return null;
  const a = parsed.data;
  const u = uris(ctx.config);
  if (a.type === "Accept" || a.type === "Reject") {
    const followId = objectId(a.object);
    const target = followId ? await relayByFollowId(ctx, followId) : undefined;
    if (!target || target.id !== relay.id) return null;
    const reason =
      a.type === "Reject"
        ? textOf((json as Record<string, unknown>).summary ?? (json as Record<string, unknown>).content)
        : null;
    await setRelayState(ctx, relay, a.type === "Accept" ? "accepted" : "rejected", { reason, signer });
    return new Response(null, { status: 202 });
  }
  if (a.type === "Follow" && objectId(a.object) === u.instanceActor) {
    // A LitePub relay follows the instance actor back, to send it Announces: accept it.
    await sendToRelay(ctx, relay, {
      "@context": AS_CONTEXT,
      id: `${u.instanceActor}#accepts/${encodeURIComponent(a.id)}`,
      type: "Accept",
      actor: u.instanceActor,
      object: { id: a.id, type: "Follow", actor: a.actor, object: u.instanceActor },
      to: [a.actor],
    });
    return new Response(null, { status: 202 });
  }
  if (a.type === "Undo") return new Response(null, { status: 202 });
  return null;
}

function textOf(v: unknown): string | null {
  if (typeof v === "string") return v.replace(/<[^>]*>/g, " ").trim() || null;
  return null;
}

async function classify(ctx: Ctx, relay: Relay, json: unknown): Promise<Bucket> {
  const parsed = Activity.safeParse(json);
  if (!parsed.success) return "invalid";
  const activity = parsed.data;
  const raw = json as Record<string, unknown>;
  if (!relay.enabled || relay.state !== "accepted") return "filtered";
  try {
    switch (activity.type) {
      case "Create":
      case "Update":
        if (typeof activity.object === "string") return await byId(ctx, relay, activity.object);
        return await embedded(ctx, relay, activity, raw);
      case "Announce": {
        // The Announce is the relay's (or a booster's); only the post it points at matters here.
        // Hashtag relays may give it the post's own URL as id, so its id proves nothing either way.
        const oid = objectId(activity.object);
        return oid ? await byId(ctx, relay, oid) : "invalid";
      }
      case "Delete":
        return await deletion(ctx, activity, raw);
      default:
        return "filtered";
    }
  } catch (e) {
    if (e instanceof InvalidObjectError) return "invalid";
    if (e instanceof InvalidActorError) return "unauthenticated";
    if (e instanceof RemoteFetchError) return "unauthenticated";
    throw e;
  }
}

function candidate(note: Note) {
  const language = note.contentMap ? Object.keys(note.contentMap)[0] : undefined;
  return {
    objectId: note.id,
    language: language ?? null,
    tags: note.tag.filter((t) => t.type === "Hashtag" && t.name).map((t) => String(t.name).replace(/^#/, "")),
  };
}

/** A Create or Update that carries its post, as Mastodon relays forward them. */
async function embedded(
  ctx: Ctx,
  relay: Relay,
  activity: Activity,
  raw: Record<string, unknown>,
): Promise<Bucket> {
  let note = parseNote(activity.object);
  if (note.attributedTo !== activity.actor) return "invalid";
  if (domainHidden(await ownerView(ctx), note.attributedTo)) return "filtered";
  if (activity.type === "Update") return edit(ctx, relay, activity, raw, note);
  const verdict = await budgetVerdict(ctx, relay, candidate(note), { filters: true });
  if (verdict !== "pass") return verdict;
  // The author's own signature over the activity (FEP-8b32 proof, or the LD signature Mastodon adds
  // to public posts) by a key already known: then the insert itself tells a duplicate, and the
  // activity costs no separate read. Otherwise it is deduplicated first, before anything is fetched:
  // the author's key, or else the post as its origin serves it now.
  if (!(await authenticateDocument(ctx, raw, activity.actor, { fetch: false }))) {
    if (await isHeld(ctx, note.id)) return "duplicate";
    if (!(await authenticateDocument(ctx, raw, activity.actor))) {
      note = await refetch(ctx, note.id);
      if (note.attributedTo !== activity.actor) return "unauthenticated";
    }
  }
  return store(ctx, relay, note);
}

async function edit(
  ctx: Ctx,
  relay: Relay,
  activity: Activity,
  raw: Record<string, unknown>,
  note: Note,
): Promise<Bucket> {
  const held = await findRelayPostByUri(ctx, note.id);
  // Not held as a relayed post: either not held at all, or a status its author sends us directly.
  if (!held) return (await isHeld(ctx, note.id)) ? "duplicate" : "filtered";
  if (!(await authenticateDocument(ctx, raw, activity.actor))) {
    note = await refetch(ctx, note.id);
    if (note.attributedTo !== activity.actor) return "unauthenticated";
  }
  const author = await resolveAuthor(ctx, note.attributedTo);
  if (author.id !== held.accountId) return "unauthenticated";
  const next = await relayPostValues(note, author, relay.id);
  if (!next) return "filtered";
  return (await updateRelayPost(ctx, next)) ? "stored" : "filtered";
}

/** A post named by id only (LitePub Announce, or a Create without its object): fetched from its origin. */
async function byId(ctx: Ctx, relay: Relay, oid: string): Promise<Bucket> {
  if (await isHeld(ctx, oid)) return "duplicate";
  if (domainHidden(await ownerView(ctx), oid)) return "filtered";
  const verdict = await budgetVerdict(ctx, relay, { objectId: oid }, { filters: false });
  if (verdict !== "pass") return verdict;
  const note = await refetch(ctx, oid);
  if (!passesFilters(relay, candidate(note))) return "filtered";
  return store(ctx, relay, note);
}

async function store(ctx: Ctx, relay: Relay, note: Note): Promise<Bucket> {
  const author = await resolveAuthor(ctx, note.attributedTo);
  const view = await ownerView(ctx);
  if (view.blocked.has(author.id)) return "filtered";
  const values = await relayPostValues(note, author, relay.id);
  if (!values) return "filtered";
  // A post by someone the owner follows, or with a tag the owner follows, belongs at home: it is
  // stored as a status at once (its tags indexed, kept like any status), as if it came directly.
  if (
    (values.visibility === "public" &&
      values.tags.some((t) => view.followedTags.has(normalizeTag(t.name)))) ||
    view.followed.has(author.id)
  ) {
    if (await isHeld(ctx, note.id)) return "duplicate";
    await storeRemoteNote(ctx, note, author);
    return "stored";
  }
  return (await insertRelayPost(ctx, values)) ? "stored" : "duplicate";
}

/**
 * A Delete forwarded by a relay is signed by the relay, not by the author: it counts when the
 * author's proof or LD signature is on it, or when the post's origin no longer has it.
 */
async function deletion(ctx: Ctx, activity: Activity, raw: Record<string, unknown>): Promise<Bucket> {
  const oid = objectId(activity.object);
  if (!oid) return "invalid";
  if (hostOf(oid) !== hostOf(activity.actor)) return "invalid";
  const held = await findRelayPostByUri(ctx, oid);
  if (!held) return (await isHeld(ctx, oid)) ? "duplicate" : "filtered";
  if (!(await authenticateDocument(ctx, raw, activity.actor)) && !(await goneAtOrigin(ctx, oid))) {
    return "unauthenticated";
  }
  const author = await resolveAuthor(ctx, activity.actor).catch(() => undefined);
  if (!author) return "unauthenticated";
  return (await deleteRelayPost(ctx, oid, author.id)) ? "stored" : "duplicate";
}

async function goneAtOrigin(ctx: Ctx, uri: string): Promise<boolean> {
  try {
    await fetchDocument(ctx, uri);
    return false;
  } catch (e) {
    return e instanceof RemoteFetchError && (e.reason === "not_found" || e.reason === "gone");
  }
}

/** The post as its origin serves it (the fetcher checks that its id is the URL asked for). */
async function refetch(ctx: Ctx, uri: string): Promise<Note> {
  const { document } = await fetchDocument(ctx, uri);
  return parseNote(document);
}

/**
 * What relay ingestion needs to know of the owner's choices (blocks, blocked domains, follows,
 * followed tags), read in one batch at most every OWNER_VIEW_MS per isolate rather than in several
 * queries per relayed activity. A change the owner makes applies to relay traffic within seconds.
 */
interface OwnerView {
  at: number;
  blocked: Set<string>;
  domains: Set<string>;
  followed: Set<string>;
  followedTags: Set<string>;
}
const OWNER_VIEW_MS = 5000;
// The snapshot itself, not a promise of it: a promise made by one request must not be awaited by
// another (Workers ties it to the request that made it).
let view: OwnerView | null = null;

async function ownerView(ctx: Ctx): Promise<OwnerView> {
  if (view && Date.now() - view.at <= OWNER_VIEW_MS) return view;
  const { owner } = await ctx.instance();
  const [b, d, f, t] = await ctx.db.batch([
    ctx.db.select({ id: blocks.targetAccountId }).from(blocks).where(eq(blocks.accountId, owner.id)),
    ctx.db.select({ domain: domainBlocks.domain }).from(domainBlocks),
    ctx.db
      .select({ id: follows.targetAccountId })
      .from(follows)
      .where(and(eq(follows.accountId, owner.id), eq(follows.accepted, true))),
    ctx.db.select({ name: followedTags.name }).from(followedTags),
  ]);
  view = {
    at: Date.now(),
    blocked: new Set(b.map((r) => r.id)),
    domains: new Set(d.map((r) => r.domain)),
    followed: new Set(f.map((r) => r.id)),
    followedTags: new Set(t.map((r) => r.name)),
  };
  return view;
}

/** Forgets the snapshot (tests that change blocks or follows between relayed activities). */
export function forgetOwnerView(): void {
  view = null;
}
onForgetIsolateCaches(forgetOwnerView);

function domainHidden(v: OwnerView, uri: string): boolean {
  if (v.domains.size === 0) return false;
  try {
    return domainIsBlocked(v.domains, new URL(uri).hostname);
  } catch {
    return false;
  }
}
