/**
 * What an import did, per kind: imported and skipped, each skip with its reason. Built when asked
 * (the page, the JSON route), from the job's counters, its skips and its posts.
 */
import { desc, eq, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import {
  archiveImports,
  archiveRelinks,
  archiveSkips,
  type ArchiveImportPhase,
  type ArchivedProfile,
  type ArchiveImportState,
  type ArchiveProfileState,
} from "../../db/schema";

/** Skips listed one by one at most; the counts always cover all. */
const LISTED = 500;

export interface ImportReport {
  id: string;
  state: ArchiveImportState;
  filename: string;
  size: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  itemsRead: number;
  /** While a .tar.gz is being converted to a ZIP: bytes of it walked, of its size. */
  conversion: { walked: number; total: number } | null;
  posts: { imported: number; alreadyImported: number; skipped: number };
  media: { imported: number; skipped: number };
  polls: { imported: number };
  /** Counted once the job is over (null before): the count reads two rows per imported post. */
  replies: { threaded: number; toOthers: number } | null;
  boosts: { imported: number; skipped: number };
  likes: { imported: number; skipped: number };
  bookmarks: { imported: number; skipped: number };
  /** Boosts, likes and bookmarks found already made, and those still to be resolved. */
  relinks: { already: number; pending: number };
  profile: { state: ArchiveProfileState | null; old: ArchivedProfile | null; skipped: number };
  announce: { enabled: boolean; delivered: number };
  phase: ArchiveImportPhase;
  /** When the archive left R2 (null while it is kept). */
  archiveDeletedAt: string | null;
  other: { skipped: number };
  skips: { item: number; kind: string; ref: string; reason: string }[];
  skipsListed: number;
}

const over = (state: string) => state === "done" || state === "failed";

export async function importReport(ctx: Ctx, id: string): Promise<ImportReport | undefined> {
  const job = (await ctx.db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0];
  if (!job) return undefined;
  const { owner } = await ctx.instance();
  const [kinds, replies, listed, pending] = await Promise.all([
    ctx.db
      .select({ kind: archiveSkips.kind, n: sql<number>`count(*)` })
      .from(archiveSkips)
      .where(eq(archiveSkips.importId, id))
      .groupBy(archiveSkips.kind),
    // Not while the job runs: its page refreshes every 10 s, and this reads every post it imported.
    over(job.state)
      ? ctx.db.get<{ threaded: number; others: number }>(sql`SELECT
        coalesce(sum(s.in_reply_to_id IS NOT NULL AND s.in_reply_to_account_id = ${owner.id}), 0) AS threaded,
        coalesce(sum(s.in_reply_to_uri IS NOT NULL AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id <> ${owner.id})), 0) AS others
      FROM archive_posts m JOIN statuses s ON s.id = m.status_id WHERE m.import_id = ${id}`)
      : null,
    ctx.db
      .select({
        item: archiveSkips.item,
        kind: archiveSkips.kind,
        ref: archiveSkips.ref,
        reason: archiveSkips.reason,
      })
      .from(archiveSkips)
      .where(eq(archiveSkips.importId, id))
      .orderBy(archiveSkips.item)
      .limit(LISTED),
    ctx.db
      .select({ n: sql<number>`count(*)` })
      .from(archiveRelinks)
      .where(eq(archiveRelinks.importId, id)),
  ]);
  const skipped = (k: string) => Number(kinds.find((r) => r.kind === k)?.n ?? 0);
  return {
    id: job.id,
    state: job.state,
    filename: job.filename,
    size: job.size,
    error: job.error,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    itemsRead: job.items,
    conversion: job.phase === "convert" ? { walked: job.convertedBytes, total: job.size } : null,
    posts: { imported: job.postsImported, alreadyImported: job.postsAlready, skipped: skipped("post") },
    media: { imported: job.mediaImported, skipped: skipped("media") },
    polls: { imported: job.pollsImported },
    replies: over(job.state)
      ? { threaded: Number(replies?.threaded ?? 0), toOthers: Number(replies?.others ?? 0) }
      : null,
    boosts: { imported: job.boostsImported, skipped: skipped("boost") },
    likes: { imported: job.likesImported, skipped: skipped("like") },
    bookmarks: { imported: job.bookmarksImported, skipped: skipped("bookmark") },
    relinks: { already: job.relinksAlready, pending: Number(pending[0]?.n ?? 0) },
    profile: { state: job.profileState, old: job.profile, skipped: skipped("profile") },
    announce: { enabled: job.announce, delivered: job.postsAnnounced },
    phase: job.phase,
    archiveDeletedAt: job.archiveDeletedAt,
    other: { skipped: skipped("item") },
    skips: listed,
    skipsListed: Math.min(
      LISTED,
      kinds.reduce((n, r) => n + Number(r.n), 0),
    ),
  };
}

/** The owner's imports, newest first. */
export async function listImports(ctx: Ctx) {
  return ctx.db.select().from(archiveImports).orderBy(desc(archiveImports.id)).limit(20);
}
