/** Queue message shapes. Each must stay under Queues' 128 KB per-message limit. */

/** An incoming activity that passed the inbox's fast checks. */
export interface InboxMessage {
  /** The activity as received (already parsed and validated as JSON-LD-ish JSON). */
  activity: Record<string, unknown>;
  /** The actor URI whose key signed the request. */
  signer: string;
  /** True when an FEP-8b32 proof on the activity verified for its actor. */
  proofVerified: boolean;
  receivedAt: string;
}

/** One signed POST of one activity to one inbox. */
export interface DeliveryMessage {
  inbox: string;
  /** The activity's JSON, serialized once at enqueue time. */
  body: string;
  /** Which local key signs it. */
  signer: "owner" | "instance";
}
