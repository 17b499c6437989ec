/**
 * Queue messages are a contract between the Worker that sends them and the (possibly newer) Worker
 * that consumes them: each shape has a zod schema the consumer checks, so a message that does not
 * fit is kept as a dead letter instead of failing deep inside a handler. Each must stay under Queues'
 * 128 KB per-message limit; an activity too large for that rides in R2 (`payload`).
 */
import { z } from "zod";

/** An incoming activity that passed the inbox's fast checks, as the handlers get it. */
export interface ReceivedActivity {
  /** The activity as received (already parsed and validated as JSON-LD-ish JSON). */
  activity: Record<string, unknown>;
  /** The actor URI whose key signed the request. */
  signer: string;
  /**
   * True when the actor's own signature in the activity verified: an FEP-8b32 proof, or (for an
   * activity a third party forwarded) the LD signature Mastodon adds to public activities.
   */
  proofVerified: boolean;
  receivedAt: string;
}

/**
 * What the inbox queue carries: the activity itself, or (when it is too large for a queue message)
 * the R2 key where the fast path stored its JSON. `id` and `type` are always there, so the consumer
 * can order and name a message before it loads anything.
 */
export const InboxMessage = z.object({
  activity: z.record(z.string(), z.unknown()).optional(),
  payload: z
    .string()
    .regex(/^inbox\/[\w-]+\.json$/)
    .optional(),
  id: z.string().max(4096).optional(),
  type: z.string().max(200).optional(),
  signer: z.string().max(4096),
  proofVerified: z.boolean(),
  receivedAt: z.string().max(64),
});
export type InboxMessage = z.infer<typeof InboxMessage>;

/** Messages up to this size ride in the queue; larger ones keep the activity in R2 (limit 128 KB). */
export const INLINE_MESSAGE_BYTES = 96 * 1024;

/** Inboxes one delivery message carries at most (the consumer's arithmetic: delivery-packs.ts). */
export const MAX_PACK_INBOXES = 6;

/**
 * One activity for one or more inboxes, each POSTed and signed on its own at send time. Today's
 * messages carry `inboxes` (a pack); messages of the first shape carry one `inbox`, and are still
 * written for a pack of one, so a Worker version that knows only that shape can still read most of
 * the queue after a rollback. The activity's JSON is in `body`, or (when a pack would not fit a queue
 * message) in R2 at `payload`, shared by every pack of the activity.
 */
export const DeliveryMessage = z
  .object({
    inbox: z.string().max(4096).optional(),
    inboxes: z.array(z.string().max(4096)).min(1).max(MAX_PACK_INBOXES).optional(),
    /** The activity's JSON, serialized once at enqueue time. */
    body: z.string().optional(),
    payload: z
      .string()
      .regex(/^delivery\/[\w-]+\.json$/)
      .optional(),
    /** Which local key signs it. */
    signer: z.enum(["owner", "instance"]),
    /**
     * Attempts each of its inboxes spent before this message was queued (the breaker holds a message
     * back without counting an attempt, and a pack's failures travel on in a new message): the
     * queue's own `attempts` counts only this copy.
     */
    spent: z.number().int().nonnegative().optional(),
    /** When the delivery was first queued (ISO 8601): a delivery is given up after a few days. */
    since: z.string().max(64).optional(),
  })
  .refine((m) => (m.inbox === undefined) !== (m.inboxes === undefined), {
    message: "exactly one of inbox and inboxes",
  })
  .refine((m) => (m.body === undefined) !== (m.payload === undefined), {
    message: "exactly one of body and payload",
  });
export type DeliveryMessage = z.infer<typeof DeliveryMessage>;

/** The inboxes a delivery message is for, whichever its shape. */
export function deliveryInboxes(message: Pick<DeliveryMessage, "inbox" | "inboxes">): string[] {
  return message.inboxes ?? (message.inbox === undefined ? [] : [message.inbox]);
}

/**
 * One chunk of an import to run. A CSV import's (services/imports/process.ts) names its `chain`, the
 * line of messages the job is driven by: a message of an older chain (the cron restarted a stalled
 * job) is dropped. An archive import's (services/archive-import/run.ts) names the import; its state
 * is in D1.
 */
export const CsvImportMessage = z.object({
  v: z.literal(1),
  kind: z.literal("csv"),
  job: z.string().regex(/^\d{1,20}$/),
  chain: z.string().regex(/^\d{1,20}$/),
});
export const ArchiveImportMessage = z.object({
  v: z.literal(1),
  kind: z.literal("archive"),
  importId: z.string().regex(/^\d{1,20}$/),
});
/** One chunk of an archive export (services/archive-export/run.ts); its state is in D1 and R2. */
export const ArchiveExportMessage = z.object({
  v: z.literal(1),
  kind: z.literal("export"),
  exportId: z.string().regex(/^\d{1,20}$/),
});
export const ImportMessage = z.discriminatedUnion("kind", [
  CsvImportMessage,
  ArchiveImportMessage,
  ArchiveExportMessage,
]);
export type ImportMessage = z.infer<typeof ImportMessage>;
