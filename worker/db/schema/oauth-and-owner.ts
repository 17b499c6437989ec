/**
 * Who may act as the owner: OAuth apps, codes and tokens, the owner's password, web sessions and
 * login throttling; with the owner's settings and the Idempotency-Keys of status creation.
 */
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/** OAuth client applications registered through POST /api/v1/apps. */
export const oauthApps = sqliteTable(
  "oauth_apps",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    website: text("website"),
    redirectUris: text("redirect_uris", { mode: "json" }).$type<string[]>().notNull(),
    scopes: text("scopes").notNull(),
    clientId: text("client_id").notNull(),
    /** SHA-256 of the client secret, hex: the secret itself is shown once and never stored. */
    clientSecretHash: text("client_secret_hash").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("oauth_apps_client_id").on(t.clientId)],
);

/** Authorization codes, single use and short-lived, stored by hash. */
export const oauthCodes = sqliteTable("oauth_codes", {
  codeHash: text("code_hash").primaryKey(),
  appId: text("app_id").notNull(),
  scopes: text("scopes").notNull(),
  redirectUri: text("redirect_uri").notNull(),
  codeChallenge: text("code_challenge"),
  codeChallengeMethod: text("code_challenge_method"),
  expiresAt: text("expires_at").notNull(),
  /** Set when the code is exchanged; a second exchange then revokes the token (RFC 6749 §4.1.2). */
  usedAt: text("used_at"),
  /** The hash of the token the code was exchanged for. */
  tokenHash: text("token_hash"),
});

/** Access tokens, stored by hash. `userToken` is false for client_credentials tokens (app only). */
export const oauthTokens = sqliteTable("oauth_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  appId: text("app_id").notNull(),
  scopes: text("scopes").notNull(),
  userToken: integer("user_token", { mode: "boolean" }).notNull(),
  createdAt: text("created_at").notNull().default(now),
  lastUsedAt: text("last_used_at"),
});

/** The owner's login secret as a slow salted hash (PBKDF2-SHA256). */
export const ownerLogin = sqliteTable("owner_login", {
  id: integer("id").primaryKey(),
  salt: text("salt").notNull(),
  iterations: integer("iterations").notNull(),
  hash: text("hash").notNull(),
});

/**
 * The owner's sessions on Perch's own web pages (relays, dashboard, imports, settings), by the hash of
 * the cookie's token. `csrfToken` is echoed in every owner form and checked on every POST.
 */
export const ownerSessions = sqliteTable("owner_sessions", {
  tokenHash: text("token_hash").primaryKey(),
  csrfToken: text("csrf_token").notNull(),
  createdAt: text("created_at").notNull().default(now),
  expiresAt: text("expires_at").notNull(),
  lastSeenAt: text("last_seen_at").notNull().default(now),
  /** The browser's user agent when signing in, shown on the sessions list. */
  userAgent: text("user_agent"),
});

/**
 * Password-check throttling, one row per key: "global" for every attempt, and "client:<hash>" per
 * client address. An attempt is counted before the password is checked, in one atomic statement.
 */
export const loginThrottle = sqliteTable("login_throttle", {
  key: text("key").primaryKey(),
  /** Attempts not (yet) followed by a success. */
  failures: integer("failures").notNull().default(0),
  lockedUntil: text("locked_until"),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Key/value settings of the owner (preferences, search index position, and so on). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
});

/** Idempotency-Key of status creation: a retried POST returns the status it already made. */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  key: text("key").primaryKey(),
  statusId: text("status_id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});
