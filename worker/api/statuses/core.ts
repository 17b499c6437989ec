import { proxiedMediaUrls } from "../../services/media-proxy-urls";
import { Hono } from "hono";
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../../app";
import type { Status } from "../../db/client";
import { accounts, mediaAttachments, statusEdits, statuses, type Poll } from "../../db/schema";
import { notFound, unprocessable } from "../../lib/errors";
import { statusLength } from "../../lib/text/format";
import { requireToken } from "../../oauth/middleware";
import { deleteNote } from "../../services/post-delete";
import { editNote } from "../../services/post-edit";
import type { PollInput } from "../../services/post-input";
import { publishNote } from "../../services/post-publish";
import { loadPreferences } from "../../services/profile";
import { filterShown } from "../../services/visibility";
import { presentAccount } from "../entities/account";
import { serializeAttachment, serializeMediaRow } from "../entities/media";
import { p, readInput, parseWith } from "../input";
import { ancestorsOf, canSee, findVisible, ownerViewing, present, presentOne, rowsByIds } from "./common";

/**
 * Posting, reading, editing and deleting statuses.
 * https://docs.joinmastodon.org/methods/statuses/
 */
export const statusesCore = new Hono<AppEnv>();

const MAX_CHARS = 5000;
const Visibility = z.enum(["public", "unlisted", "private", "direct"]);
const Language = z.preprocess(
  (v) => (Array.isArray(v) ? v[0] : v),
  z
    .string()
    .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?$/, "is not a language code")
    .transform((s) => s.split("-")[0]?.toLowerCase() ?? s),
);

const PollParams = z.object({
  options: p
    .list(p.str(50).pipe(z.string().min(1, "can't be blank")), 4)
    .pipe(z.array(z.string()).min(2, "must have at least 2 options")),
  expires_in: p.int(300, 2_629_746),
  multiple: p.bool().optional(),
  hide_totals: p.bool().optional(),
});

const CreateParams = z.object({
  status: p.str(100_000).optional(),
  media_ids: p.list(p.id(), 4).optional(),
  poll: PollParams.optional(),
  in_reply_to_id: p.id().optional(),
  sensitive: p.bool().optional(),
  spoiler_text: p.str(1000).optional(),
  visibility: z.preprocess((v) => (v === "" ? undefined : v), Visibility.optional()),
  language: z.preprocess((v) => (v === "" ? undefined : v), Language.optional()),
  scheduled_at: p.str(100).optional(),
});

function checkLength(text: string) {
  if (statusLength(text) > MAX_CHARS) {
    throw unprocessable(`Validation failed: Text character limit of ${MAX_CHARS} exceeded`);
  }
}

function pollInput(poll: z.infer<typeof PollParams>): PollInput {
  const unique = new Set(poll.options.map((o) => o.trim()));
  if (unique.size !== poll.options.length)
    throw unprocessable("Validation failed: Poll options must be unique");
  return {
    options: poll.options,
    expiresIn: poll.expires_in,
    multiple: poll.multiple ?? false,
    hideTotals: poll.hide_totals ?? false,
  };
}

statusesCore.post("/api/v1/statuses", requireToken("write:statuses", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const input = parseWith(CreateParams, await readInput(c));
  if (input.scheduled_at) {
    throw unprocessable("Validation failed: scheduled posts are not supported by this server");
  }
  const text = input.status ?? "";
  checkLength(text);
  if (input.poll && input.media_ids?.length) {
    throw unprocessable("Validation failed: a post cannot have both a poll and media attachments");
  }
  if (!text.trim() && !input.media_ids?.length) throw unprocessable("Validation failed: Text can't be blank");
  const key = c.req.header("idempotency-key");
  if (key !== undefined && (key.length === 0 || key.length > 200)) {
    throw unprocessable("Validation failed: Idempotency-Key must be 1 to 200 characters");
  }
  if (input.in_reply_to_id) await findVisible(ctx, input.in_reply_to_id, true);
  // What the client leaves out comes from the owner's posting preferences (update_credentials source[…]).
  const prefs = await loadPreferences(ctx);
  const sensitive = input.sensitive ?? (prefs.sensitive && !!input.media_ids?.length ? true : undefined);
  const language = input.language ?? prefs.language;
  const status = await publishNote(ctx, {
    text,
    visibility: input.visibility ?? prefs.privacy,
    ...(input.in_reply_to_id ? { inReplyToId: input.in_reply_to_id } : {}),
    ...(input.spoiler_text ? { spoilerText: input.spoiler_text } : {}),
    ...(sensitive !== undefined ? { sensitive } : {}),
    ...(language ? { language } : {}),
    ...(input.media_ids?.length ? { mediaIds: input.media_ids } : {}),
    ...(input.poll ? { poll: pollInput(input.poll) } : {}),
    ...(key ? { idempotencyKey: key } : {}),
  });
  return c.json(await presentOne(ctx, status));
});

const IdList = z.object({ id: p.list(p.id(), 20).optional() });

statusesCore.get("/api/v1/statuses", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c);
  const { id } = parseWith(IdList, await readInput(c));
  const rows = (await rowsByIds(ctx, [...new Set(id ?? [])])).filter((r) => canSee(r, owner));
  return c.json(await present(ctx, rows));
});

statusesCore.get("/api/v1/statuses/:id", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c);
  const row = await findVisible(ctx, c.req.param("id"), owner);
  return c.json(await presentOne(ctx, row));
});

/** The owner's own live status (not a boost) by id, else 404. */
async function ownStatus(c: { var: AppEnv["Variables"] }, id: string): Promise<Status> {
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  if (!/^\d{1,20}$/.test(id)) throw notFound();
  const row = (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.id, id), isNull(statuses.deletedAt)))
      .limit(1)
  )[0];
  if (!row) throw notFound();
  // As on Mastodon, another account's status is not found among the owner's own.
  if (row.accountId !== owner.id || row.reblogOfId) throw notFound();
  return row;
}

statusesCore.delete("/api/v1/statuses/:id", requireToken("write:statuses", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const row = await ownStatus(c, c.req.param("id"));
  // The answer carries the source text, for delete-and-redraft; presented before the row is emptied.
  const entity = await presentOne(ctx, row);
  await deleteNote(ctx, row.id);
  return c.json({ ...entity, text: row.source ?? "" });
});

const EditParams = z.object({
  status: p.str(100_000).optional(),
  spoiler_text: p.str(1000).optional(),
  sensitive: p.bool().optional(),
  language: z.preprocess((v) => (v === "" ? undefined : v), Language.optional()),
  media_ids: p.list(p.id(), 4).optional(),
  media_attributes: p
    .list(
      z.object({
        id: p.id(),
        description: p.str(1500).optional(),
        focus: p.str(50).optional(),
      }),
      4,
    )
    .optional(),
  poll: PollParams.optional(),
});

function parseFocus(focus: string): { x: number; y: number } {
  const [x, y] = focus.split(",").map(Number);
  if (x === undefined || y === undefined || !(Math.abs(x) <= 1) || !(Math.abs(y) <= 1)) {
    throw unprocessable("Validation failed: focus must be two numbers from -1 to 1, as x,y");
  }
  return { x, y };
}

statusesCore.put("/api/v1/statuses/:id", requireToken("write:statuses", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const row = await ownStatus(c, c.req.param("id"));
  const raw = await readInput(c);
  const input = parseWith(EditParams, raw);
  if (input.status !== undefined) checkLength(input.status);
  if (input.poll && input.media_ids?.length) {
    throw unprocessable("Validation failed: a post cannot have both a poll and media attachments");
  }
  const updated = await editNote(ctx, row.id, {
    ...(input.status !== undefined ? { text: input.status } : {}),
    ...(input.spoiler_text !== undefined ? { spoilerText: input.spoiler_text } : {}),
    ...(input.sensitive !== undefined ? { sensitive: input.sensitive } : {}),
    ...(input.language ? { language: input.language } : {}),
    // As on Mastodon, media and poll change only when the parameter is sent.
    ...("media_ids" in raw ? { mediaIds: input.media_ids ?? [] } : {}),
    ...(input.media_attributes
      ? {
          mediaAttributes: input.media_attributes.map((a) => ({
            id: a.id,
            ...(a.description !== undefined ? { description: a.description } : {}),
            ...(a.focus ? { focus: parseFocus(a.focus) } : {}),
          })),
        }
      : {}),
    ...("poll" in raw ? { poll: input.poll ? pollInput(input.poll) : null } : {}),
  });
  return c.json(await presentOne(ctx, updated));
});

statusesCore.get("/api/v1/statuses/:id/source", requireToken("read:statuses", { user: true }), async (c) => {
  const row = await ownStatus(c, c.req.param("id"));
  return c.json({ id: row.id, text: row.source ?? "", spoiler_text: row.spoilerText });
});

function editPoll(poll: Poll | null) {
  return poll ? { options: poll.options.map((o) => ({ title: o.name })) } : null;
}

statusesCore.get("/api/v1/statuses/:id/history", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c);
  const row = await findVisible(ctx, c.req.param("id"), owner);
  if (row.reblogOfId) throw notFound();
  const [edits, author, media] = await Promise.all([
    ctx.db.select().from(statusEdits).where(eq(statusEdits.statusId, row.id)).orderBy(asc(statusEdits.id)),
    ctx.db.select().from(accounts).where(eq(accounts.id, row.accountId)).limit(1),
    ctx.db.select().from(mediaAttachments).where(eq(mediaAttachments.statusId, row.id)),
  ]);
  if (!author[0]) throw notFound();
  const account = await presentAccount(ctx, author[0]);
  const mediaById = new Map(media.map((m) => [m.id, m]));
  const versions = [
    ...edits,
    {
      content: row.content,
      spoilerText: row.spoilerText,
      sensitive: row.sensitive,
      attachments: row.attachments,
      poll: row.poll,
      createdAt: row.editedAt ?? row.publishedAt,
    },
  ];
  // Remote attachments of earlier versions go through the media proxy, as the status's own do.
  const urls = await proxiedMediaUrls(
    ctx,
    versions.flatMap((v) => v.attachments.flatMap((a) => (a.mediaId ? [] : [a.url, a.previewUrl]))),
  );
  return c.json(
    versions.map((v) => ({
      content: v.content,
      spoiler_text: v.spoilerText,
      sensitive: v.sensitive,
      created_at: v.createdAt,
      account,
      poll: editPoll(v.poll ?? null),
      media_attachments: v.attachments.map((a, i) => {
        const m = a.mediaId ? mediaById.get(a.mediaId) : undefined;
        if (m) return serializeMediaRow(ctx.config, m);
        const x = serializeAttachment(row.id, i, a, row.local);
        return { ...x, url: urls(x.url), preview_url: x.preview_url ? urls(x.preview_url) : x.preview_url };
      }),
      emojis: [],
    })),
  );
});

statusesCore.get("/api/v1/statuses/:id/context", async (c) => {
  const ctx = c.var.ctx;
  const owner = await ownerViewing(c);
  const row = await findVisible(ctx, c.req.param("id"), owner);
  const ancestors = (await ancestorsOf(ctx, row, 40)).reverse().filter((s) => canSee(s, owner));
  // Descendants breadth-first by in_reply_to_uri, at most 4 levels and 60 posts, then ordered as a
  // tree (each post followed by its replies, oldest first) as Mastodon orders them.
  const children = new Map<string, Status[]>();
  let frontier = [row.uri];
  let total = 0;
  for (let depth = 0; depth < 4 && frontier.length && total < 60; depth++) {
    const found = await ctx.db
      .select()
      .from(statuses)
      .where(and(inArray(statuses.inReplyToUri, frontier.slice(0, 90)), isNull(statuses.deletedAt)))
      .orderBy(asc(statuses.id))
      .limit(60 - total);
    const visible = found.filter((s) => canSee(s, owner));
    total += visible.length;
    for (const s of visible) {
      const parent = s.inReplyToUri as string;
      children.set(parent, [...(children.get(parent) ?? []), s]);
    }
    frontier = visible.map((s) => s.uri);
  }
  const descendants: Status[] = [];
  const walk = (uri: string) => {
    for (const s of children.get(uri) ?? []) {
      descendants.push(s);
      walk(s.uri);
    }
  };
  walk(row.uri);
  // Posts by accounts hidden from the owner leave the thread, as Mastodon's StatusFilter takes them
  // out of a context; replies to them stay. The status asked for is shown whoever wrote it.
  const shown = new Set((await filterShown(ctx, [...ancestors, ...descendants])).map((s) => s.id));
  const [a, d] = await Promise.all([
    present(
      ctx,
      ancestors.filter((s) => shown.has(s.id)),
      { filterContext: "thread" },
    ),
    present(
      ctx,
      descendants.filter((s) => shown.has(s.id)),
      { filterContext: "thread" },
    ),
  ]);
  return c.json({ ancestors: a, descendants: d });
});
