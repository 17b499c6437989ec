/**
 * Making the archive's boosts, likes and bookmarks again, a few per step: each relink's post is found
 * by its URI (the owner's own imported post through archive_posts, a stored status, else fetched
 * from its origin through resolveStatus, with the SSRF guard and signed GET of every remote fetch),
 * then becomes the owner's boost (dated as the original, its id from that date as for imported
 * posts), favourite or bookmark. Quiet: no Announce or Like is sent, no one is notified. A post that
 * cannot be had (gone, not found, private, not a public http(s) address, not a post) is a skip with
 * its reason; a server that does not answer is tried again five minutes later at the earliest (the
 * job waits for the cron meanwhile), three times at most.
 *
 * Each relink is stored in one batch with the deletion of its row and its count on the job, so a
 * step that crashes repeats nothing; one already boosted, liked or bookmarked is counted as such.
 *
 * Sizing, for the Free plan: a remote post costs its fetch and, for an unknown author, the actor's
 * (2-4 subrequests, each GET signed: ~0.7 ms CPU) and up to about fifteen queries; a step takes at
 * most RELINKS_PER_STEP of them and stops before one that might not fit its QUERY_BUDGET.
 */
import { and, asc, eq, isNull, lte, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../../context";
import type { Account, Status } from "../../db/client";
import { d1Usage } from "../../db/metered";
import {
  archiveImports,
  archivePosts,
  archiveRelinks,
  archiveSkips,
  bookmarks,
  favourites,
  statuses,
} from "../../db/schema";
import { statusIdAt } from "../../db/status-ids";
import { PUBLIC } from "../../federation/jsonld";
import { uris } from "../../federation/uris";
import { newId } from "../../lib/ids";
import { RemoteFetchError } from "../../lib/remote-fetch";
import { findAccountById } from "../accounts";
import { favouriteInsertCount, statusInsertCounts } from "../counters";
import { InvalidObjectError, resolveStatus } from "../remote-statuses";

export const RELINKS_PER_STEP = 5;
/**
 * Queries (each statement of a batch counts) the relinks of a step may spend: the Free plan's 50,
 * less the claim, the selection and the release around them. A relink starts only if the costliest
 * one of the step so far (or a first guess) still fits.
 */
const QUERY_BUDGET = 40;
const FIRST_GUESS = 12;
/** Tries a relink gets while its post's server does not answer, this far apart at least. */
export const MAX_ATTEMPTS = 3;
export const RETRY_AFTER_MS = 5 * 60_000;

type Job = typeof archiveImports.$inferSelect;
type Relink = typeof archiveRelinks.$inferSelect;
type Outcome = { ok: Status } | { skip: string } | { retry: string };

/**
 * Resolves the next few relinks of a job: "more" while some remain, "waiting" when those that remain
 * wait to be tried again (the cron resumes the job: resumableImports), "empty" once none does.
 */
export async function resolveRelinks(
  ctx: Ctx,
  job: Job,
  now = new Date(),
): Promise<"more" | "waiting" | "empty"> {
  const rows = await ctx.db
    .select()
    .from(archiveRelinks)
    .where(
      and(
        eq(archiveRelinks.importId, job.id),
        or(isNull(archiveRelinks.retryAt), lte(archiveRelinks.retryAt, now.toISOString())),
      ),
    )
    // In the primary key's order, so a step reads the rows it takes (and those waiting to be
    // tried again), not all of the job's: a sort by anything else would read them all each step.
    .orderBy(asc(archiveRelinks.kind), asc(archiveRelinks.uri))
    .limit(RELINKS_PER_STEP);
  if (rows.length === 0) {
    const left = await ctx.db
      .select({ uri: archiveRelinks.uri })
      .from(archiveRelinks)
      .where(eq(archiveRelinks.importId, job.id))
      .limit(1);
    return left.length > 0 ? "waiting" : "empty";
  }
  const { owner } = await ctx.instance();
  const start = d1Usage.queries;
  let costliest = FIRST_GUESS;
  for (const [n, row] of rows.entries()) {
    const before = d1Usage.queries;
    if (n > 0 && before - start + costliest > QUERY_BUDGET) break;
    await relinkOne(ctx, owner, row);
    costliest = Math.max(costliest, d1Usage.queries - before);
  }
  return "more";
}

async function relinkOne(ctx: Ctx, owner: Account, row: Relink): Promise<void> {
  const found = await findTarget(ctx, row.uri);
  if ("retry" in found) {
    if (row.attempts + 1 < MAX_ATTEMPTS) {
      await ctx.db
        .update(archiveRelinks)
        .set({ attempts: row.attempts + 1, retryAt: new Date(Date.now() + RETRY_AFTER_MS).toISOString() })
        .where(relinkWhere(row));
      return;
    }
    return skip(ctx, row, `the post's server did not answer after ${MAX_ATTEMPTS} tries: ${found.retry}`);
  }
  if ("skip" in found) return skip(ctx, row, found.skip);
  const target = found.ok;
  if (target.deletedAt) return skip(ctx, row, "the post was deleted");
  if (row.kind === "boost") return boost(ctx, owner, row, target);
  if (row.kind === "like") return like(ctx, owner, row, target);
  return bookmarkOf(ctx, row, target);
}

/** The post a URI names: the owner's imported post by its old URI, else a stored or fetched status. */
async function findTarget(ctx: Ctx, uri: string): Promise<Outcome> {
  const own = (
    await ctx.db
      .select({ s: statuses })
      .from(archivePosts)
      .innerJoin(statuses, eq(statuses.id, archivePosts.statusId))
      .where(eq(archivePosts.oldUri, uri))
      .limit(1)
  )[0];
  if (own) return { ok: own.s };
  try {
    return { ok: await resolveStatus(ctx, uri) };
  } catch (e) {
    return failure(e);
  }
}

const UNSAFE = new Set([
  "invalid_url",
  "scheme_not_allowed",
  "credentials",
  "ip_literal",
  "private_address",
  "port_not_allowed",
]);

/** Why a post could not be fetched: for good (a skip), or maybe not (a retry later). */
function failure(e: unknown): Outcome {
  if (e instanceof InvalidObjectError) return { skip: `not a post Perch can show: ${e.message}` };
  if (!(e instanceof RemoteFetchError)) {
    return { retry: e instanceof Error ? e.message.slice(0, 300) : String(e).slice(0, 300) };
  }
  if (e.reason === "gone") return { skip: "the post is gone (HTTP 410)" };
  if (e.reason === "not_found") return { skip: "the post was not found (HTTP 404)" };
  if (UNSAFE.has(e.reason)) return { skip: `not a public http(s) address (${e.reason})` };
  if (e.reason === "http_error" && (e.status === 401 || e.status === 403))
    return { skip: `the post is not public (HTTP ${e.status})` };
  if (e.reason === "http_error" && e.status !== undefined && e.status < 500 && e.status !== 429)
    return { skip: `the post's server refused it (HTTP ${e.status})` };
  if (e.reason === "http_error" || e.reason === "timeout" || e.reason === "network")
    return { retry: e.message };
  return { skip: `the post's server did not answer with a post (${e.reason})` };
}

const relinkWhere = (row: Relink) =>
  and(
    eq(archiveRelinks.importId, row.importId),
    eq(archiveRelinks.kind, row.kind),
    eq(archiveRelinks.uri, row.uri),
  );

type Count = "boost" | "like" | "bookmark" | "already";

function counted(ctx: Ctx, importId: string, what: Count) {
  const j = archiveImports;
  const set =
    what === "boost"
      ? { boostsImported: sql`${j.boostsImported} + 1` }
      : what === "like"
        ? { likesImported: sql`${j.likesImported} + 1` }
        : what === "bookmark"
          ? { bookmarksImported: sql`${j.bookmarksImported} + 1` }
          : { relinksAlready: sql`${j.relinksAlready} + 1` };
  return ctx.db
    .update(j)
    .set({ ...set, updatedAt: new Date().toISOString() })
    .where(eq(j.id, importId));
}

async function done(ctx: Ctx, row: Relink, writes: BatchItem<"sqlite">[], already: boolean) {
  await ctx.db.batch([
    ctx.db.delete(archiveRelinks).where(relinkWhere(row)),
    ...writes,
    counted(ctx, row.importId, already ? "already" : row.kind),
  ]);
}

async function skip(ctx: Ctx, row: Relink, reason: string): Promise<void> {
  await ctx.db.batch([
    ctx.db.delete(archiveRelinks).where(relinkWhere(row)),
    ctx.db
      .insert(archiveSkips)
      .values({ importId: row.importId, item: row.item, kind: row.kind, ref: row.uri.slice(0, 2048), reason })
      .onConflictDoNothing(),
  ]);
}

/** The owner's boost of `target`, dated as the original, stored quietly (nothing delivered). */
async function boost(ctx: Ctx, owner: Account, row: Relink, target: Status): Promise<void> {
  if (target.reblogOfId) return skip(ctx, row, "the post is itself a boost");
  const ownPrivate = target.visibility === "private" && target.accountId === owner.id;
  if (target.visibility !== "public" && target.visibility !== "unlisted" && !ownPrivate)
    return skip(ctx, row, "the post is not public, so it cannot be boosted");
  const existing = (
    await ctx.db
      .select({ id: statuses.id })
      .from(statuses)
      .where(and(eq(statuses.accountId, owner.id), eq(statuses.reblogOfId, target.id)))
      .limit(1)
  )[0];
  if (existing) return done(ctx, row, [], true);
  const published = new Date(row.published ?? Date.now());
  const allocated = await ctx.db.get<{ id: string }>(sql`SELECT ${statusIdAt(published)} AS id`);
  if (!allocated) throw new Error("no status id allocated");
  const id = String(allocated.id);
  const u = uris(ctx.config);
  const uri = u.statusActivity(id);
  const visibility = ownPrivate ? "private" : (row.visibility ?? "public");
  const author = target.local ? [] : [(await authorOf(ctx, target)).uri];
  const audience =
    visibility === "public"
      ? { to: [PUBLIC], cc: [u.followers, ...author] }
      : visibility === "unlisted"
        ? { to: [u.followers], cc: [PUBLIC, ...author] }
        : { to: [u.followers], cc: author };
  const counts = statusInsertCounts(ctx, { id, uri, accountId: owner.id, reblogOfId: target.id });
  await done(
    ctx,
    row,
    [
      ...counts.before,
      ctx.db.insert(statuses).values({
        id,
        uri,
        accountId: owner.id,
        local: true,
        visibility,
        reblogOfId: target.id,
        audience,
        publishedAt: published.toISOString(),
      }),
      ...counts.after,
    ],
    false,
  );
}

async function authorOf(ctx: Ctx, status: Status): Promise<Account> {
  const author = await findAccountById(ctx, status.accountId);
  if (!author) throw new Error(`status ${status.id} has no author row`);
  return author;
}

/** A favourite of `target`, without the Like that a favourite from a client sends. */
async function like(ctx: Ctx, owner: Account, row: Relink, target: Status): Promise<void> {
  const existing = (
    await ctx.db
      .select({ id: favourites.id })
      .from(favourites)
      .where(
        and(eq(favourites.accountId, owner.id), eq(favourites.statusId, target.id), isNull(favourites.emoji)),
      )
      .limit(1)
  )[0];
  if (existing) return done(ctx, row, [], true);
  const id = newId();
  const uri = uris(ctx.config).activity(id);
  await done(
    ctx,
    row,
    [
      favouriteInsertCount(ctx, { statusId: target.id, uri }),
      ctx.db.insert(favourites).values({ id, accountId: owner.id, statusId: target.id, uri }),
    ],
    false,
  );
}

async function bookmarkOf(ctx: Ctx, row: Relink, target: Status): Promise<void> {
  const existing = (
    await ctx.db
      .select({ id: bookmarks.id })
      .from(bookmarks)
      .where(eq(bookmarks.statusId, target.id))
      .limit(1)
  )[0];
  if (existing) return done(ctx, row, [], true);
  // As services/bookmarks.ts stores one, in the batch with the relink's deletion.
  await done(
    ctx,
    row,
    [ctx.db.insert(bookmarks).values({ id: newId(), statusId: target.id }).onConflictDoNothing()],
    false,
  );
}
