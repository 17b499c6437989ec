/**
 * A chunk of imported posts as one D1 batch (one transaction) of a fixed number of statements,
 * whatever the number of posts: the posts ride as one JSON parameter and each statement walks it with
 * json_each. So a chunk costs about ten queries, and the batch either stores all its posts, their
 * tags, media rows, counts, skips and the job's next checkpoint, or nothing.
 *
 * Rows written per post: the archive_posts row (1), the status (1 + 3 indexes: uri, account, and
 * in_reply_to_uri for a reply), its home_feed entry (1, the trigger of migration 0009), one per tag
 * (status_tags) and per media file (media_attachments + its status index); plus, per chunk, the owner's
 * account row, the job row, and the parents whose replies are recounted.
 */
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import type { Attachment } from "../../db/schema";
import type { ArchiveSkipKind } from "../../db/schema";
import { uris } from "../../federation/uris";
import { minIdAt } from "../../lib/ids";
import { normalizeTag } from "../../lib/text/hashtags";
import { addressing } from "../post-content";
import { htmlToPlain } from "../search-index";
import { insertEntries, type IndexedEntry } from "./directory";
import type { BoostPlan, PostPlan } from "./items";

/** A media file copied into R2 for a post, ready for its media_attachments row. */
export interface CopiedMedia {
  id: string;
  type: string;
  mime: string;
  key: string;
  size: number;
  width: number | null;
  height: number | null;
  description: string | null;
  focus: { x: number; y: number } | null;
  blurhash: string | null;
  attachment: Attachment;
}

export interface Skip {
  item: number;
  kind: ArchiveSkipKind;
  ref: string;
  reason: string;
}

export interface ChunkWrite {
  importId: string;
  /** Names this chunk's archive_posts rows: only the posts it allocated are stored by it. */
  token: string;
  posts: { plan: PostPlan; media: CopiedMedia[] }[];
  skips: Skip[];
  /** Announce items: boosts recorded to be resolved after the outbox (relinks.ts). */
  boosts?: BoostPlan[];
  /** Items the chunk looked at, and those of them already imported (found before any write). */
  items: number;
  already: number;
  /** The job's position after this chunk (directory.ts). */
  checkpoint: unknown;
  carry: { index: number; item: unknown }[] | null;
  done: boolean;
  /** Central directory entries this chunk read, to store for the chunks after it (directory.ts). */
  entries?: IndexedEntry[];
}

const LOWER_HALF = 0x7fffn;

/** Rows of the posts JSON, each post's id range (db/status-ids.ts) and its rank within it. */
function postRows(ctx: Ctx, posts: ChunkWrite["posts"]) {
  const u = uris(ctx.config);
  const rank = new Map<string, number>();
  return posts.map(({ plan, media }) => {
    const lo = minIdAt(plan.published);
    const k = rank.get(lo) ?? 0;
    rank.set(lo, k + 1);
    const mentioned = plan.mentions.map((m) => m.uri);
    return {
      u: plan.oldUri,
      url: plan.oldUrl,
      lo,
      hi: (BigInt(lo) + LOWER_HALF).toString(),
      k,
      type: plan.type,
      v: plan.visibility,
      content: plan.content,
      src: htmlToPlain(plan.content),
      cw: plan.spoilerText,
      sens: plan.sensitive ? 1 : 0,
      lang: plan.language,
      re: plan.inReplyTo,
      aud: addressing(u.followers, plan.visibility, mentioned),
      men: plan.mentions,
      tags: plan.tags,
      tn: [...new Set(plan.tags.map((t) => normalizeTag(t.name)).filter(Boolean))],
      atts: media.map((m) => m.attachment),
      poll: plan.poll,
      pub: plan.published.toISOString(),
      media: media.map((m) => ({
        id: m.id,
        type: m.type,
        mime: m.mime,
        key: m.key,
        size: m.size,
        w: m.width,
        h: m.height,
        d: m.description,
        f: m.focus,
        bh: m.blurhash,
      })),
    };
  });
}

/** This chunk's own posts: the JSON rows joined to the archive_posts rows it allocated. */
const OWN = `json_each(?1) j JOIN archive_posts m ON m.old_uri = json_extract(j.value, '$.u') AND m.chunk = ?2`;
const field = (f: string) => `json_extract(j.value, '$.${f}')`;

/** The statements of a chunk, in order, bound and ready for one batch. */
export function chunkStatements(ctx: Ctx, ownerId: string, w: ChunkWrite): D1PreparedStatement[] {
  const d1 = d1Of(ctx.db);
  const u = uris(ctx.config);
  const json = JSON.stringify(postRows(ctx, w.posts));
  const statusPrefix = u.status("");
  const urlPrefix = u.statusUrl("");
  const out: D1PreparedStatement[] = [];
  if (w.entries && w.entries.length > 0) out.push(insertEntries(ctx, w.importId, w.entries));
  if (w.posts.length > 0) {
    out.push(
      // The status id is allocated here, as statusIdAt does (one more than the largest id in the lower
      // half of its millisecond), plus the post's rank among this chunk's posts of that millisecond.
      d1
        .prepare(
          `INSERT INTO archive_posts (old_uri, status_id, old_url, import_id, chunk)
          SELECT ${field("u")},
            CAST(COALESCE((SELECT CAST(MAX(id) AS INTEGER) + 1 FROM statuses
              WHERE id >= ${field("lo")} AND id <= ${field("hi")}), CAST(${field("lo")} AS INTEGER)) + ${field("k")} AS TEXT),
            ${field("url")}, ?3, ?2
          FROM json_each(?1) j WHERE 1 ON CONFLICT (old_uri) DO NOTHING`,
        )
        .bind(json, w.token, w.importId),
      // No ON CONFLICT: the ids were allocated just now, so a conflict is a bug and fails the batch.
      d1
        .prepare(
          `INSERT INTO statuses (id, uri, url, account_id, local, type, visibility, content, source,
            spoiler_text, sensitive, language, in_reply_to_uri, in_reply_to_id, in_reply_to_account_id,
            audience, mentions, tags, attachments, poll, published_at)
          SELECT m.status_id, ?3 || m.status_id, ?4 || m.status_id, ?5, 1, ${field("type")}, ${field("v")},
            ${field("content")}, ${field("src")}, ${field("cw")}, ${field("sens")}, ${field("lang")},
            CASE WHEN p.status_id IS NOT NULL THEN ?3 || p.status_id ELSE ${field("re")} END,
            COALESCE(p.status_id, (SELECT id FROM statuses WHERE uri = ${field("re")})),
            CASE WHEN p.status_id IS NOT NULL THEN ?5
              ELSE (SELECT account_id FROM statuses WHERE uri = ${field("re")}) END,
            ${field("aud")}, ${field("men")}, ${field("tags")}, ${field("atts")}, ${field("poll")}, ${field("pub")}
          FROM ${OWN} LEFT JOIN archive_posts p ON p.old_uri = ${field("re")}`,
        )
        .bind(json, w.token, statusPrefix, urlPrefix, ownerId),
      // Replies imported before their parent (an outbox out of order) are threaded once it is here.
      // Found from the chunk's posts through the in_reply_to_uri index (`+` keeps SQLite off the
      // account index, which would read every status imported so far, at every chunk).
      d1
        .prepare(
          `UPDATE statuses SET
            in_reply_to_id = (SELECT a.status_id FROM archive_posts a WHERE a.old_uri = statuses.in_reply_to_uri),
            in_reply_to_account_id = ?4,
            in_reply_to_uri = ?3 || (SELECT a.status_id FROM archive_posts a WHERE a.old_uri = statuses.in_reply_to_uri)
          WHERE id IN (SELECT s.id FROM ${OWN} JOIN statuses s ON s.in_reply_to_uri = m.old_uri
            WHERE s.in_reply_to_uri IS NOT NULL AND +s.account_id = ?4)`,
        )
        .bind(json, w.token, statusPrefix, ownerId),
      d1
        .prepare(
          `UPDATE statuses SET replies_count =
            (SELECT count(*) FROM statuses r WHERE r.in_reply_to_uri = statuses.uri AND r.deleted_at IS NULL)
          WHERE id IN (SELECT m.status_id FROM ${OWN})
            OR uri IN (SELECT s.in_reply_to_uri FROM ${OWN} JOIN statuses s ON s.id = m.status_id
              WHERE s.in_reply_to_uri IS NOT NULL)`,
        )
        .bind(json, w.token),
      d1
        .prepare(
          `INSERT INTO status_tags (name, status_id) SELECT t.value, m.status_id
          FROM ${OWN}, json_each(${field("tn")}) t WHERE 1 ON CONFLICT DO NOTHING`,
        )
        .bind(json, w.token),
      d1
        .prepare(
          `INSERT INTO media_attachments (id, status_id, type, mime_type, key, size, width, height,
            description, focus, blurhash)
          SELECT json_extract(a.value, '$.id'), m.status_id, json_extract(a.value, '$.type'),
            json_extract(a.value, '$.mime'), json_extract(a.value, '$.key'), json_extract(a.value, '$.size'),
            json_extract(a.value, '$.w'), json_extract(a.value, '$.h'), json_extract(a.value, '$.d'),
            json_extract(a.value, '$.f'), json_extract(a.value, '$.bh')
          FROM ${OWN}, json_each(${field("media")}) a`,
        )
        .bind(json, w.token),
      d1
        .prepare(
          `UPDATE accounts SET statuses_count = statuses_count + (SELECT count(*) FROM ${OWN}),
            last_status_at = coalesce(max(coalesce(last_status_at, ''),
              (SELECT max(${field("pub")}) FROM ${OWN})), last_status_at)
          WHERE id = ?3`,
        )
        .bind(json, w.token, ownerId),
    );
  }
  if (w.skips.length > 0) {
    out.push(
      d1
        .prepare(
          `INSERT INTO archive_skips (import_id, item, kind, ref, reason)
          SELECT ?2, json_extract(value, '$.item'), json_extract(value, '$.kind'), json_extract(value, '$.ref'),
            json_extract(value, '$.reason')
          FROM json_each(?1) WHERE 1 ON CONFLICT DO NOTHING`,
        )
        .bind(JSON.stringify(w.skips), w.importId),
    );
  }
  if (w.boosts && w.boosts.length > 0) {
    out.push(
      d1
        .prepare(
          `INSERT INTO archive_relinks (import_id, kind, uri, item, published, visibility)
          SELECT ?2, 'boost', json_extract(value, '$.uri'), json_extract(value, '$.item'),
            json_extract(value, '$.published'), json_extract(value, '$.visibility')
          FROM json_each(?1) WHERE 1 ON CONFLICT DO NOTHING`,
        )
        .bind(JSON.stringify(w.boosts), w.importId),
    );
  }
  // The outbox done, the job goes on with its other phases (after-outbox.ts): it is not done yet.
  out.push(
    d1
      .prepare(
        `UPDATE archive_imports SET
          items = items + ?3,
          posts_imported = posts_imported + (SELECT count(*) FROM ${OWN}),
          posts_already = posts_already + ?4 + ?5 - (SELECT count(*) FROM ${OWN}),
          media_imported = media_imported + coalesce((SELECT sum(json_array_length(${field("media")})) FROM ${OWN}), 0),
          polls_imported = polls_imported + (SELECT count(*) FROM ${OWN} WHERE ${field("poll")} IS NOT NULL),
          checkpoint = ?6, carry = ?7, lease_until = NULL, failures = 0,
          state = 'running', phase = CASE WHEN ?8 THEN 'actor' ELSE phase END,
          updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE id = ?9`,
      )
      .bind(
        json,
        w.token,
        w.items,
        w.already,
        w.posts.length,
        JSON.stringify(w.checkpoint ?? null),
        w.carry ? JSON.stringify(w.carry) : null,
        w.done ? 1 : 0,
        w.importId,
      ),
  );
  return out;
}
