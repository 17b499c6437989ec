import { eq, inArray, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { inChunks } from "../db/chunks";
import { accounts, blocks, domainBlocks, mutes, statuses } from "../db/schema";

/*
 * What the owner does not see, and who may see what. Each rule is written once here in two forms
 * side by side: an SQL fragment (drizzle `sql`) for queries, and a predicate for rows already loaded.
 * test/services/visibility.test.ts holds each pair to the same answers.
 *
 * - Blocks and mutes hide an account; a mute only until it expires, and in notifications only when
 *   it mutes notifications. A block wins over a mute: a blocked account is hidden everywhere.
 * - A blocked domain hides its accounts and those of every subdomain (`example.com` hides
 *   `a.b.example.com`), whatever port the account's domain carries.
 * - The owner is never hidden, nor are the owner's own posts and boosts.
 * - A boost is hidden when its original is gone or hidden.
 * - A direct post is seen by its author and by those it addresses (mentions, to or cc).
 *
 * The fragments take the column or row alias they test, so they apply to any table with an
 * `account_id` (statuses, relay_posts, notifications' from_account_id …). Each subquery probes a
 * primary key from the row it tests (or is computed once per statement, as whether any domain is
 * blocked), so a timeline still walks `statuses` by id and pays a few index probes per row. Tables the
 * subqueries read by a correlated key are aliased `vis_…`, so that a fragment also works inside a
 * query over the same table (`FROM accounts` testing `accounts.id`).
 */

/** The owner as the rules need it: whose blocks, and whom a direct post must address. */
export type Owner = Pick<Account, "id" | "uri">;

/** The owner's id for a statement that has no owner at hand (built synchronously, as a deferred write). */
export const OWNER_ID = sql`(SELECT owner_id FROM instance)`;

type Id = string | SQL;

const NOW = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/** A table name or alias for the row-level fragments (`statuses`, `s`, `relay_posts` …). */
export function row(alias: string): SQL {
  if (!/^[a-z_][a-z0-9_]*$/i.test(alias)) throw new Error(`not a row alias: ${alias}`);
  return sql.raw(alias);
}

// ——— Mutes: active until they expire. ———

/** SQL: a mute whose `expires_at` is given has not expired (ISO 8601 strings compare in time order). */
export function muteActiveSql(expiresAt: SQLWrapper = sql`expires_at`): SQL {
  return sql`(${expiresAt} IS NULL OR ${expiresAt} > ${NOW})`;
}

/** Twin of muteActiveSql, judged at `now` (an ISO 8601 time as toISOString writes it). */
export function muteActive(expiresAt: string | null, now: string): boolean {
  return expiresAt === null || expiresAt > now;
}

// ——— Blocks and mutes of accounts. ———

// Both are primary-key probes by the tested row's account: D1 counts no row read for a probe that
// finds nothing, where a test against a list built once per statement (`IN (SELECT …)`) costs a row
// read per tested row even when the list is empty.

/** SQL: the owner follows the account whose id is `accountId` (accepted): one probe of follows_pair. */
export function followedSql(ownerId: Id, accountId: SQLWrapper): SQL {
  return sql`EXISTS (SELECT 1 FROM follows vis_f WHERE vis_f.account_id = ${ownerId}
    AND vis_f.target_account_id = ${accountId} AND vis_f.accepted = 1)`;
}

/** SQL: the owner blocks the account whose id is `accountId`. */
export function blockedSql(ownerId: Id, accountId: SQLWrapper): SQL {
  return sql`EXISTS (SELECT 1 FROM blocks vis_b WHERE vis_b.account_id = ${ownerId} AND vis_b.target_account_id = ${accountId})`;
}

/** SQL: an active mute of the account (with `notifications`, only one that mutes its notifications). */
export function mutedSql(accountId: SQLWrapper, opts: { notifications?: boolean } = {}): SQL {
  const which = opts.notifications ? sql` AND vis_mu.notifications = 1` : sql``;
  return sql`EXISTS (SELECT 1 FROM mutes vis_mu WHERE vis_mu.target_account_id = ${accountId}
    AND ${muteActiveSql(sql`vis_mu.expires_at`)}${which})`;
}

// ——— Blocked domains, subdomains included. ———

/**
 * The host of an account's domain: lower case, without a port (`Sub.Example.com:8443` →
 * `sub.example.com`). Blocked domains are stored this way (normalizeDomain).
 */
function hostSql(domain: SQLWrapper): SQL {
  return sql`lower(substr(${domain}, 1, instr(${domain} || ':', ':') - 1))`;
}

/**
 * SQL: one of the host's suffixes at label boundaries (the host itself, then without its first label,
 * and so on) passes `match`, which sees them as `vis_host.d`. `seed` selects the raw domain as `x`.
 * Matched against domain_blocks, that is one primary-key probe per label, however long the list.
 */
function suffixSql(seed: SQL, match: SQL): SQL {
  return sql`EXISTS (WITH RECURSIVE vis_host(d) AS (
      SELECT ${hostSql(sql`x`)} FROM (${seed})
      UNION ALL SELECT substr(d, instr(d, '.') + 1) FROM vis_host WHERE instr(d, '.') > 0)
    SELECT 1 FROM vis_host ${match})`;
}

const IN_DOMAIN_BLOCKS = sql`JOIN domain_blocks vis_db ON vis_db.domain = vis_host.d`;

/** Computed once per statement: with no domain blocked (the common case) no row pays for the test. */
const ANY_DOMAIN_BLOCKED = sql`EXISTS (SELECT 1 FROM domain_blocks)`;

/** SQL: `domain` (an account's domain column) is a blocked domain or a subdomain of one. */
export function domainBlockedSql(domain: SQLWrapper): SQL {
  return sql`(${ANY_DOMAIN_BLOCKED} AND ${suffixSql(sql`SELECT ${domain} AS x`, IN_DOMAIN_BLOCKS)})`;
}

/** SQL: the account whose id is `accountId` is on a blocked domain (its row read by primary key). */
export function onBlockedDomainSql(accountId: SQLWrapper): SQL {
  return sql`(${ANY_DOMAIN_BLOCKED} AND ${suffixSql(
    sql`SELECT vis_a.domain AS x FROM accounts vis_a WHERE vis_a.id = ${accountId}`,
    IN_DOMAIN_BLOCKS,
  )})`;
}

/**
 * SQL: `domain` (an account's domain column) is `blocked` or a subdomain of it: the accounts a new
 * block of `blocked` covers. Twin: `domainIsBlocked(new Set([blocked]), domain)`.
 */
export function withinDomainSql(domain: SQLWrapper, blocked: string): SQL {
  return suffixSql(sql`SELECT ${domain} AS x`, sql`WHERE vis_host.d = ${blocked}`);
}

/** Twin of hostSql. */
function hostOf(domain: string): string {
  const d = `${domain}:`;
  return d.slice(0, d.indexOf(":")).replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

/** Twin of domainBlockedSql: the same suffixes looked up in the owner's blocked domains. */
export function domainIsBlocked(blocked: ReadonlySet<string>, domain: string): boolean {
  if (blocked.size === 0) return false;
  let d = hostOf(domain);
  for (;;) {
    if (blocked.has(d)) return true;
    const dot = d.indexOf(".");
    if (dot < 0) return false;
    d = d.slice(dot + 1);
  }
}

// ——— Hidden accounts: the three rules together, never the owner. ———

export interface HiddenOptions {
  /** Judge for notifications: a mute counts only when it mutes notifications. */
  notifications?: boolean;
  /** The account's domain column when the statement has joined accounts already (saves a probe). */
  domain?: SQLWrapper;
}

/** SQL: the account whose id is `accountId` is hidden from the owner. */
export function hiddenAccountSql(ownerId: Id, accountId: SQLWrapper, opts: HiddenOptions = {}): SQL {
  const onBlockedDomain = opts.domain ? domainBlockedSql(opts.domain) : onBlockedDomainSql(accountId);
  return sql`(${accountId} <> ${ownerId} AND (${blockedSql(ownerId, accountId)}
    OR ${mutedSql(accountId, opts)} OR ${onBlockedDomain}))`;
}

/** The owner's blocks, mutes and blocked domains, loaded once for the in-memory predicates. */
export interface Relations {
  ownerId: string;
  blocked: ReadonlySet<string>;
  mutes: ReadonlyMap<string, { notifications: boolean; expiresAt: string | null }>;
  domains: ReadonlySet<string>;
  /** When mutes are judged (ISO 8601). */
  now: string;
}

/** Reads what the in-memory predicates need, in one batch of three short lists. */
export async function loadRelations(ctx: Ctx, now = new Date()): Promise<Relations> {
  const { owner } = await ctx.instance();
  const [blockRows, muteRows, domainRows] = await ctx.db.batch([
    ctx.db.select({ id: blocks.targetAccountId }).from(blocks).where(eq(blocks.accountId, owner.id)),
    ctx.db
      .select({ id: mutes.targetAccountId, notifications: mutes.notifications, expiresAt: mutes.expiresAt })
      .from(mutes),
    ctx.db.select({ domain: domainBlocks.domain }).from(domainBlocks),
  ]);
  return {
    ownerId: owner.id,
    blocked: new Set(blockRows.map((r) => r.id)),
    mutes: new Map(muteRows.map((m) => [m.id, m])),
    domains: new Set(domainRows.map((r) => r.domain)),
    now: now.toISOString(),
  };
}

/** The owner's blocked domains alone (what the inbox checks every activity against). */
export async function loadBlockedDomains(ctx: Ctx): Promise<Set<string>> {
  const rows = await ctx.db.select({ domain: domainBlocks.domain }).from(domainBlocks);
  return new Set(rows.map((r) => r.domain));
}

/** Twin of blockedSql. */
export function isBlocked(r: Relations, accountId: string): boolean {
  return r.blocked.has(accountId);
}

/** Twin of mutedSql. */
export function isMuted(r: Relations, accountId: string, opts: { notifications?: boolean } = {}): boolean {
  const m = r.mutes.get(accountId);
  return !!m && muteActive(m.expiresAt, r.now) && (!opts.notifications || m.notifications);
}

/**
 * Twin of hiddenAccountSql. `domain` is the account's domain when its row is loaded; without it
 * only blocks and mutes are judged, as the SQL does for an account it has no row of.
 */
export function accountHidden(
  r: Relations,
  account: { id: string; domain?: string | undefined },
  opts: { notifications?: boolean } = {},
): boolean {
  if (account.id === r.ownerId) return false;
  return (
    isBlocked(r, account.id) ||
    isMuted(r, account.id, opts) ||
    (account.domain !== undefined && domainIsBlocked(r.domains, account.domain))
  );
}

// ——— Statuses: hidden authors, boosts of hidden originals. ———

/**
 * SQL: the status row `t` (a table alias with account_id and reblog_of_id) is not hidden: the
 * owner's own, or by an account not hidden and, when a boost, of a live original by an account not
 * hidden. For rows without boosts (relay_posts) use hiddenAccountSql on account_id.
 */
export function statusShownSql(ownerId: Id, t: SQL): SQL {
  return sql`(${t}.account_id = ${ownerId} OR (NOT ${hiddenAccountSql(ownerId, sql`${t}.account_id`)}
    AND ${boostShownSql(ownerId, t)}))`;
}

/** SQL: the row `t` is no boost, or a boost of a live original by an account not hidden. */
export function boostShownSql(ownerId: Id, t: SQL): SQL {
  return sql`(${t}.reblog_of_id IS NULL OR EXISTS (
    SELECT 1 FROM statuses vis_o WHERE vis_o.id = ${t}.reblog_of_id AND vis_o.deleted_at IS NULL
      AND NOT ${hiddenAccountSql(ownerId, sql`vis_o.account_id`)}))`;
}

/** A status as the predicates need it. */
export interface StatusLike {
  accountId: string;
  reblogOfId: string | null;
  deletedAt: string | null;
}

/**
 * Twin of statusShownSql. `authors` holds the loaded accounts (by id) and `originals` the loaded
 * originals of boosts (by id); an original not among them counts as gone.
 */
export function statusShown(
  r: Relations,
  s: StatusLike,
  authors: ReadonlyMap<string, { domain: string }>,
  originals: ReadonlyMap<string, StatusLike>,
): boolean {
  if (s.accountId === r.ownerId) return true;
  const hidden = (id: string) => accountHidden(r, { id, domain: authors.get(id)?.domain });
  if (hidden(s.accountId)) return false;
  if (s.reblogOfId === null) return true;
  const original = originals.get(s.reblogOfId);
  return !!original && original.deletedAt === null && !hidden(original.accountId);
}

// ——— Who may see a post. ———

/** SQL: the row `t` (with mentions and audience columns) addresses the owner: a mention, or in to/cc. */
export function addressedSql(owner: Owner, t: SQL): SQL {
  return sql`(EXISTS (SELECT 1 FROM json_each(${t}.mentions) vis_m WHERE json_extract(vis_m.value, '$.uri') = ${owner.uri})
    OR EXISTS (SELECT 1 FROM json_each(${t}.audience, '$.to') vis_to WHERE vis_to.value = ${owner.uri})
    OR EXISTS (SELECT 1 FROM json_each(${t}.audience, '$.cc') vis_cc WHERE vis_cc.value = ${owner.uri}))`;
}

/** SQL: the row `t` is not direct, or the owner wrote it or is addressed by it. */
export function directVisibleSql(owner: Owner, t: SQL): SQL {
  return sql`(${t}.visibility <> 'direct' OR ${t}.account_id = ${owner.id} OR ${addressedSql(owner, t)})`;
}

/** A post's addressing as the predicates need it. */
export interface AddressedLike {
  accountId: string;
  visibility: string;
  mentions: { uri: string }[];
  audience: { to: string[]; cc: string[] };
}

/** Twin of addressedSql. */
export function addressed(owner: Owner, s: Omit<AddressedLike, "accountId" | "visibility">): boolean {
  return (
    s.mentions.some((m) => m.uri === owner.uri) ||
    s.audience.to.includes(owner.uri) ||
    s.audience.cc.includes(owner.uri)
  );
}

/** Twin of directVisibleSql. */
export function directVisible(owner: Owner, s: AddressedLike): boolean {
  return s.visibility !== "direct" || s.accountId === owner.id || addressed(owner, s);
}

/**
 * The rows (already loaded) the owner is shown, in order: statusShown with the authors and boosted
 * originals read here, a few queries for the whole list.
 */
export async function filterShown<T extends StatusLike & { id: string }>(ctx: Ctx, rows: T[]): Promise<T[]> {
  if (rows.length === 0) return rows;
  const r = await loadRelations(ctx);
  const byId = new Map<string, StatusLike>(rows.map((s) => [s.id, s]));
  const missing = [
    ...new Set(rows.flatMap((s) => (s.reblogOfId && !byId.has(s.reblogOfId) ? [s.reblogOfId] : []))),
  ];
  for (const o of await inChunks(missing, (c) =>
    ctx.db
      .select({
        id: statuses.id,
        accountId: statuses.accountId,
        reblogOfId: statuses.reblogOfId,
        deletedAt: statuses.deletedAt,
      })
      .from(statuses)
      .where(inArray(statuses.id, c)),
  ))
    byId.set(o.id, o);
  const authorIds = [...new Set([...byId.values()].map((s) => s.accountId))];
  const authors = await inChunks(authorIds, (c) =>
    ctx.db.select({ id: accounts.id, domain: accounts.domain }).from(accounts).where(inArray(accounts.id, c)),
  );
  const domains = new Map(authors.map((a) => [a.id, a]));
  return rows.filter((s) => statusShown(r, s, domains, byId));
}
