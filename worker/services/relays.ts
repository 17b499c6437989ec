import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Ctx } from "../context";
import { relays, type RelayProtocol, type RelayState } from "../db/schema";
import { AS_CONTEXT, PUBLIC } from "../federation/jsonld";
import { Url } from "../federation/schemas";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { onForgetIsolateCaches } from "../lib/isolate-cache";
import { RemoteFetchError } from "../lib/remote-fetch";
import { checkRemoteUrl } from "../lib/url-safety";
import { cleanText, truncate } from "../lib/text/clean";
import { normalizeTag } from "../lib/text/hashtags";
import type { DeliveryMessage } from "../queues/messages";
import { markFederated } from "./instance";
import { fetchDocument } from "./signing";

export type Relay = typeof relays.$inferSelect;

/**
 * Budgets a new relay starts with, sized for the Workers Free plan (100,000 D1 rows written and
 * 10,000 Queue operations a day, a 500 MB database): 2,000 stored posts a day cost about 4,000 rows
 * written to store and 4,000 to prune, and at about 1.5 KB each a week of them is about 20 MB.
 */
export const RELAY_DEFAULTS = {
  dailyCap: 2000,
  /** Per minute: a relay's burst after an outage is spread out rather than stored at once. */
  rateCap: 120,
} as const;

/** Relays may set higher budgets, within these bounds (the Paid plan's territory). */
const MAX_DAILY_CAP = 1_000_000;
const MAX_RATE_CAP = 100_000;

export class RelayError extends Error {
  override name = "RelayError";
  constructor(
    message: string,
    readonly status: 404 | 409 | 422 = 422,
  ) {
    super(message);
  }
}

/** The owner's settings of a relay, as the page and the JSON API take them. */
export const RelaySettings = z.object({
  dailyCap: z.number().int().min(0).max(MAX_DAILY_CAP).optional(),
  rateCap: z.number().int().min(1).max(MAX_RATE_CAP).optional(),
  languages: z
    .array(
      z
        .string()
        .trim()
        .regex(/^[a-zA-Z]{2,3}$/, "expected ISO 639 codes such as en or de"),
    )
    .max(50)
    .optional(),
  tags: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  sampling: z.boolean().optional(),
  enabled: z.boolean().optional(),
});
export type RelaySettings = z.infer<typeof RelaySettings>;

/** Hashtag, instance and language relays (FediBuzz style): an inbox at that path, no actor to fetch. */
const PATH_RELAY = /\/(?:tag|instance|language)\/[^/]+\/?$/;

/** Where a relay is and how it speaks, found from the URL the owner typed (FEP-ae0c). */
export interface RelayTarget {
  url: string;
  host: string;
  protocol: RelayProtocol;
  actorUri: string | null;
  inbox: string;
}

/**
 * Finds out which protocol a relay speaks. A URL ending in /inbox is Mastodon's way of naming a
 * relay (its inbox; the Follow's object is the Public collection). A hashtag, instance or language
 * relay path is LitePub without an actor document: the Follow goes to that URL and names it as the
 * object. Anything else must be an actor document (LitePub: follow that actor).
 */
export async function detectRelay(ctx: Ctx, input: string): Promise<RelayTarget> {
  const parsed = Url.safeParse(input.trim());
  if (!parsed.success) throw new RelayError("The relay's address must be an http(s) URL");
  const url = new URL(parsed.data);
  url.hash = "";
  const checked = checkRemoteUrl(url.href, { allowLoopback: ctx.config.allowLoopback });
  if (!checked.ok) throw new RelayError(`That address cannot be used (${checked.reason})`);
  const href = url.href;
  const host = url.host;
  if (/\/inbox\/?$/.test(url.pathname)) {
    return { url: href, host, protocol: "mastodon", actorUri: null, inbox: href };
  }
  if (PATH_RELAY.test(url.pathname)) {
    return { url: href, host, protocol: "litepub", actorUri: href, inbox: href };
  }
  let document: Record<string, unknown>;
  try {
    ({ document } = await fetchDocument(ctx, href));
  } catch (e) {
    const why = e instanceof RemoteFetchError ? e.reason : "unreachable";
    throw new RelayError(
      `No relay answered at ${href} (${why}). For a Mastodon-style relay, give its inbox URL (…/inbox).`,
    );
  }
  const actor = z
    .looseObject({
      id: Url,
      type: z.string(),
      inbox: Url,
      endpoints: z
        .looseObject({ sharedInbox: Url.optional().catch(undefined) })
        .optional()
        .catch(undefined),
    })
    .safeParse(document);
  if (!actor.success || new URL(actor.data.id).host !== host) {
    throw new RelayError(
      `${href} is not a relay actor. For a Mastodon-style relay, give its inbox URL (…/inbox).`,
    );
  }
  return { url: href, host, protocol: "litepub", actorUri: actor.data.id, inbox: actor.data.inbox };
}

/** Subscribes to a relay: stores it as pending and sends the Follow its protocol expects. */
export async function subscribeRelay(ctx: Ctx, input: { url: string } & RelaySettings): Promise<Relay> {
  const target = await detectRelay(ctx, input.url);
  const existing = await ctx.db.select().from(relays).where(eq(relays.url, target.url)).limit(1);
  if (existing[0]) throw new RelayError("Already subscribed to this relay", 409);
  const followId = uris(ctx.config).activity(newId());
  const [row] = await ctx.db
    .insert(relays)
    .values({
      id: newId(),
      ...target,
      followId,
      state: "pending",
      dailyCap: input.dailyCap ?? RELAY_DEFAULTS.dailyCap,
      rateCap: input.rateCap ?? RELAY_DEFAULTS.rateCap,
      languages: normalizeLanguages(input.languages),
      tags: normalizeTags(input.tags),
      sampling: input.sampling ?? true,
      enabled: input.enabled ?? true,
    })
    .returning();
  if (!row) throw new Error("relay not stored");
  await sendToRelay(ctx, row, followActivity(ctx, row));
  forgetRelays();
  return row;
}

/** Changes a relay's budgets, filters or enabled state. Disabling keeps the subscription. */
export async function updateRelay(ctx: Ctx, id: string, settings: RelaySettings): Promise<Relay> {
  const set: Partial<typeof relays.$inferInsert> = {};
  if (settings.dailyCap !== undefined) set.dailyCap = settings.dailyCap;
  if (settings.rateCap !== undefined) set.rateCap = settings.rateCap;
  if (settings.languages !== undefined) set.languages = normalizeLanguages(settings.languages);
  if (settings.tags !== undefined) set.tags = normalizeTags(settings.tags);
  if (settings.sampling !== undefined) set.sampling = settings.sampling;
  if (settings.enabled !== undefined) set.enabled = settings.enabled;
  const [row] = Object.keys(set).length
    ? await ctx.db.update(relays).set(set).where(eq(relays.id, id)).returning()
    : await ctx.db.select().from(relays).where(eq(relays.id, id)).limit(1);
  if (!row) throw new RelayError("No such relay", 404);
  forgetRelays();
  return row;
}

/**
 * Unsubscribes: sends Undo of the Follow and forgets the relay. Its stored posts stay until pruned,
 * and its counts stay for the dashboard.
 */
export async function removeRelay(ctx: Ctx, id: string): Promise<void> {
  const row = await findRelay(ctx, id);
  if (!row) throw new RelayError("No such relay", 404);
  const u = uris(ctx.config);
  await sendToRelay(ctx, row, {
    "@context": AS_CONTEXT,
    id: `${row.followId}/undo`,
    type: "Undo",
    actor: u.instanceActor,
    object: followActivity(ctx, row),
    to: [row.actorUri ?? PUBLIC],
  });
  await ctx.db.delete(relays).where(eq(relays.id, id));
  forgetRelays();
}

/** Sends the Follow again (after a Reject, or when a relay lost it). */
export async function resubscribeRelay(ctx: Ctx, id: string): Promise<Relay> {
  const row = await findRelay(ctx, id);
  if (!row) throw new RelayError("No such relay", 404);
  const [updated] = await ctx.db
    .update(relays)
    .set({ state: "pending", stateChangedAt: new Date().toISOString(), rejectReason: null })
    .where(eq(relays.id, id))
    .returning();
  await sendToRelay(ctx, row, followActivity(ctx, row));
  forgetRelays();
  return updated ?? row;
}

export async function findRelay(ctx: Ctx, id: string): Promise<Relay | undefined> {
  return (await ctx.db.select().from(relays).where(eq(relays.id, id)).limit(1))[0];
}

export async function listRelays(ctx: Ctx): Promise<Relay[]> {
  return ctx.db.select().from(relays).orderBy(asc(relays.createdAt));
}

/**
 * The relays, read at most every few seconds per isolate: the inbox asks on every request which
 * relay (if any) a signer is, and the table changes only when the owner edits it (which clears this
 * isolate's copy at once; other isolates see the change within RELAY_CACHE_MS).
 */
const RELAY_CACHE_MS = 5000;
// The rows, not a promise of them: Workers ties a promise to the request that created it, and a
// request awaiting another's would hang once that one has finished.
let cached: { at: number; rows: Relay[] } | null = null;

export function forgetRelays(): void {
  cached = null;
}
onForgetIsolateCaches(forgetRelays);

async function allRelays(ctx: Ctx): Promise<Relay[]> {
  if (!cached || Date.now() - cached.at > RELAY_CACHE_MS) {
    cached = { at: Date.now(), rows: await listRelays(ctx) };
  }
  return cached.rows;
}

/**
 * The relay a request comes from: its signer is the relay's actor, or signs from the relay's host
 * (hashtag relays sign with a key of the relay service, not of the path the owner subscribed to).
 */
export async function relayForSigner(ctx: Ctx, signer: string): Promise<Relay | undefined> {
  const list = await allRelays(ctx);
  if (list.length === 0) return undefined;
  let host: string;
  try {
    host = new URL(signer).host;
  } catch {
    return undefined;
  }
  return (
    list.find((r) => r.actorUri === signer) ??
    // By host only while the relay's actor is not known (Mastodon style, until its Accept says who it
    // is) or for path relays, whose service signs with its own key: a LitePub relay run by a server
    // that also has people on it (Pleroma's /relay) is matched by its actor alone.
    list.find((r) => r.host === host && (r.actorUri === null || PATH_RELAY.test(new URL(r.url).pathname)))
  );
}

/** The relay whose Follow has this id (what an Accept or Reject refers to). */
export async function relayByFollowId(ctx: Ctx, followId: string): Promise<Relay | undefined> {
  return (await allRelays(ctx)).find((r) => r.followId === followId);
}

/** Records a relay's answer to the Follow. */
export async function setRelayState(
  ctx: Ctx,
  relay: Relay,
  state: RelayState,
  opts: { reason?: string | null; signer?: string } = {},
): Promise<void> {
  const { reason, signer } = opts;
  await ctx.db
    .update(relays)
    .set({
      // A Mastodon-style relay is known by its inbox; its answer tells which actor speaks for it.
      ...(relay.actorUri === null && signer ? { actorUri: signer } : {}),
      state,
      stateChangedAt: new Date().toISOString(),
      rejectReason: state === "rejected" ? (reason ? truncate(cleanText(reason), 500) : null) : null,
    })
    .where(eq(relays.id, relay.id));
  forgetRelays();
}

/** The Follow a relay expects: of the Public collection (Mastodon) or of the relay actor (LitePub). */
export function followActivity(ctx: Ctx, relay: Relay): Record<string, unknown> {
  const u = uris(ctx.config);
  const object = relay.protocol === "mastodon" ? PUBLIC : (relay.actorUri ?? relay.url);
  return {
    "@context": AS_CONTEXT,
    id: relay.followId,
    type: "Follow",
    actor: u.instanceActor,
    object,
    // Always an array: some relays read `to` as one.
    to: [object],
  };
}

/** Queues one activity for a relay's inbox, signed by the instance actor at send time. */
export async function sendToRelay(ctx: Ctx, relay: Pick<Relay, "inbox">, activity: Record<string, unknown>) {
  const message: DeliveryMessage = {
    inbox: relay.inbox,
    body: JSON.stringify(activity),
    signer: "instance",
    since: new Date().toISOString(),
  };
  await ctx.env.DELIVERY_QUEUE.send(message, { contentType: "json" });
  await markFederated(ctx.db);
}

function normalizeLanguages(list: string[] | undefined): string[] {
  return [...new Set((list ?? []).map((l) => l.trim().toLowerCase()).filter(Boolean))];
}

function normalizeTags(list: string[] | undefined): string[] {
  return [...new Set((list ?? []).map((t) => normalizeTag(t.replace(/^#/, ""))).filter(Boolean))];
}
