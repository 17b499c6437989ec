/** The server's identity and keys, and the accounts it knows, local and remote. */
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/**
 * One row: the identity this server federates as, and its keys. The identity is recorded on first start
 * and locked once the server has federated (see services/instance.ts).
 */
export const instance = sqliteTable("instance", {
  id: integer("id").primaryKey(),
  accountDomain: text("account_domain").notNull(),
  webDomain: text("web_domain").notNull(),
  username: text("username").notNull(),
  ownerId: text("owner_id").notNull(),
  federatedAt: text("federated_at"),
  /** RSA-2048 (RSASSA-PKCS1-v1_5) keys, SPKI PEM public and PKCS#8 base64 private, for the owner. */
  rsaPublicKeyPem: text("rsa_public_key_pem").notNull(),
  rsaPrivateKey: text("rsa_private_key").notNull(),
  /** Ed25519 keys for FEP-8b32 proofs, as Multikey multibase (FEP-521a). */
  ed25519PublicKey: text("ed25519_public_key").notNull(),
  ed25519PrivateKey: text("ed25519_private_key").notNull(),
  /** The instance actor's own RSA keys, used for signed fetches. */
  appRsaPublicKeyPem: text("app_rsa_public_key_pem").notNull(),
  appRsaPrivateKey: text("app_rsa_private_key").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** Local and remote accounts. The owner is the one row with `local = true`. */
export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    uri: text("uri").notNull(),
    url: text("url"),
    local: integer("local", { mode: "boolean" }).notNull().default(false),
    type: text("type").notNull().default("Person"),
    username: text("username").notNull(),
    domain: text("domain").notNull(),
    displayName: text("display_name").notNull().default(""),
    note: text("note").notNull().default(""),
    avatarUrl: text("avatar_url"),
    headerUrl: text("header_url"),
    inbox: text("inbox"),
    sharedInbox: text("shared_inbox"),
    outbox: text("outbox"),
    followersUrl: text("followers_url"),
    followingUrl: text("following_url"),
    featuredUrl: text("featured_url"),
    manuallyApprovesFollowers: integer("manually_approves_followers", { mode: "boolean" })
      .notNull()
      .default(false),
    discoverable: integer("discoverable", { mode: "boolean" }).notNull().default(true),
    indexable: integer("indexable", { mode: "boolean" }).notNull().default(true),
    /** PropertyValue fields: [{ name, value }] with value as sanitized HTML. */
    fields: text("fields", { mode: "json" }).$type<{ name: string; value: string }[]>().notNull().default([]),
    alsoKnownAs: text("also_known_as", { mode: "json" }).$type<string[]>().notNull().default([]),
    movedTo: text("moved_to"),
    fetchedAt: text("fetched_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at"),
    /**
     * Counts as Perch knows them (exact for the owner), kept up to date in the same D1 batch as the
     * write they count, so showing an account reads one row instead of counting thousands
     * (migration 0008 backfills them): accepted follows in each direction, statuses not deleted, and
     * the time of the newest one.
     */
    followersCount: integer("followers_count").notNull().default(0),
    followingCount: integer("following_count").notNull().default(0),
    statusesCount: integer("statuses_count").notNull().default(0),
    lastStatusAt: text("last_status_at"),
  },
  (t) => [uniqueIndex("accounts_uri").on(t.uri)],
);
