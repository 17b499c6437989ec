/**
 * Federation plumbing: cached remote keys, per-host delivery state, activities already accepted, and
 * dead letters.
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/** Public keys of remote actors, cached by key id (draft-cavage keyId, RFC 9421 keyid, proof method). */
export const remoteKeys = sqliteTable("remote_keys", {
  keyId: text("key_id").primaryKey(),
  ownerUri: text("owner_uri").notNull(),
  /** "rsa" (SPKI PEM) or "ed25519" (raw key, base64url). */
  kind: text("kind").notNull(),
  material: text("material").notNull(),
  fetchedAt: text("fetched_at").notNull().default(now),
});

/** Per remote host: the delivery breaker and the signature format it accepts. */
export const hosts = sqliteTable("hosts", {
  host: text("host").primaryKey(),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  /**
   * When the current run of failures began (null while the host is healthy): the breaker measures an
   * outage by its duration, not by how many messages happened to fail during it.
   */
  failingSince: text("failing_since"),
  /** While in the future, deliveries to this host wait instead of being sent. */
  openUntil: text("open_until"),
  /** "cavage" or "rfc9421": set to rfc9421 after a cavage-signed request got 401 and 9421 worked. */
  signatureScheme: text("signature_scheme").notNull().default("cavage"),
  lastKeyRefetchAt: text("last_key_refetch_at"),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Activity ids the inbox has accepted, so a redelivered activity is not processed twice. */
export const inboxSeen = sqliteTable("inbox_seen", {
  activityId: text("activity_id").primaryKey(),
  receivedAt: text("received_at").notNull().default(now),
});

/** What finally failed: deliveries and incoming activities, kept for the owner to see and retry. */
export const deadLetters = sqliteTable("dead_letters", {
  id: text("id").primaryKey(),
  kind: text("kind").$type<"delivery" | "inbox">().notNull(),
  target: text("target").notNull(),
  payload: text("payload").notNull(),
  error: text("error").notNull(),
  attempts: integer("attempts").notNull(),
  createdAt: text("created_at").notNull().default(now),
});
