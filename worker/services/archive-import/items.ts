/**
 * What an item of an archive's outbox.json is, validated: a post to import (a Create of a Note or a
 * Question, as Mastodon exports them), or a skip with its reason. The archive is untrusted input:
 * every field is checked here, HTML is sanitized, and URLs that are not http(s) are dropped.
 * https://docs.joinmastodon.org/user/moving/#export
 */
import { z } from "zod";
import type { Mention, Poll, Tag, Visibility } from "../../db/schema";
import { Audience, IdRef, TypeName, Url, oneOrMany, validEntries } from "../../federation/schemas";
import { sanitizeHtml } from "../../lib/html/sanitize";
import { cleanText, truncate } from "../../lib/text/clean";
import { displayTag, normalizeTag } from "../../lib/text/hashtags";
import { visibilityOf } from "../remote-statuses";

const text = (max: number) => z.string().max(max).transform(cleanText);

/** A media path as the archive writes it (`/system/media_attachments/…`) or a URL whose path it is. */
const MediaPath = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[^\u0000-\u001f\\]+$/);

const ArchivedAttachment = z.looseObject({
  type: z.string().max(50).optional().catch(undefined),
  mediaType: z.string().max(200).optional().catch(undefined),
  url: MediaPath,
  name: text(5000).nullish().catch(undefined),
  blurhash: z
    .string()
    .max(200)
    .regex(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,}$/)
    .optional()
    .catch(undefined),
  width: z.number().int().positive().max(100_000).optional().catch(undefined),
  height: z.number().int().positive().max(100_000).optional().catch(undefined),
  focalPoint: z
    .tuple([z.number().min(-1).max(1), z.number().min(-1).max(1)])
    .optional()
    .catch(undefined),
});

const TagItem = z.looseObject({
  type: z.string().max(100),
  href: Url.optional().catch(undefined),
  name: text(500).optional().catch(undefined),
});

const PollOption = z.looseObject({
  name: text(1000),
  replies: z.looseObject({ totalItems: z.number().int().nonnegative() }).optional().catch(undefined),
});

const Datetime = z.iso.datetime({ offset: true });

export const ArchivedNote = z.looseObject({
  id: Url,
  type: z.enum(["Note", "Question"]),
  attributedTo: oneOrMany(IdRef).optional().catch(undefined),
  url: Url.optional().catch(undefined),
  published: Datetime.optional().catch(undefined),
  content: text(500_000).nullish(),
  contentMap: z.record(z.string().max(100), text(500_000)).optional().catch(undefined),
  summary: text(100_000).nullish().catch(undefined),
  sensitive: z.boolean().nullish().catch(undefined),
  inReplyTo: IdRef.nullish().catch(null),
  to: Audience,
  cc: Audience,
  tag: validEntries(TagItem),
  attachment: validEntries(ArchivedAttachment),
  oneOf: z.array(PollOption).max(100).optional().catch(undefined),
  anyOf: z.array(PollOption).max(100).optional().catch(undefined),
  endTime: Datetime.optional().catch(undefined),
  closed: z.union([Datetime, z.boolean()]).optional().catch(undefined),
  votersCount: z.number().int().nonnegative().optional().catch(undefined),
});
export type ArchivedNote = z.infer<typeof ArchivedNote>;

const ArchivedActivity = z.looseObject({
  type: TypeName,
  id: z.string().max(2048).optional().catch(undefined),
  actor: IdRef.optional().catch(undefined),
  published: Datetime.optional().catch(undefined),
  to: Audience,
  cc: Audience,
  object: z.unknown().optional(),
});

export interface ArchivedMedia {
  path: string;
  mediaType?: string;
  description: string | null;
  focus: { x: number; y: number } | null;
  blurhash: string | null;
  width: number | null;
  height: number | null;
}

/** A post ready to be stored, but for its id (allocated in the INSERT) and its media files. */
export interface PostPlan {
  item: number;
  oldUri: string;
  oldUrl: string;
  published: Date;
  type: "Note" | "Question";
  visibility: Visibility;
  content: string;
  spoilerText: string;
  sensitive: boolean;
  language: string | null;
  inReplyTo: string | null;
  mentions: Mention[];
  tags: Tag[];
  poll: Poll | null;
  media: ArchivedMedia[];
}

/** A boost to make again once the boosted post is found (services/archive-import/relinks.ts). */
export interface BoostPlan {
  item: number;
  uri: string;
  published: string;
  visibility: "public" | "unlisted" | "private";
}

export type ItemOutcome =
  | { kind: "post"; plan: PostPlan }
  | { kind: "boost"; boost: BoostPlan }
  | { kind: "skip"; what: "post" | "boost" | "item"; ref: string; reason: string };

const LANGUAGE = /^[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8}){0,7}$/;

/** What one outbox item is; never throws on bad input (a skip says what was wrong). */
export async function readItem(index: number, raw: unknown, now = new Date()): Promise<ItemOutcome> {
  const activity = ArchivedActivity.safeParse(raw);
  if (!activity.success) return skip("item", `#${index}`, "not an activity");
  const ref = activity.data.id ?? `#${index}`;
  const { type } = activity.data;
  if (type === "Announce") return readBoost(index, ref, activity.data, now);
  if (type !== "Create") return skip("item", ref, `${type.slice(0, 50)} activities are not imported`);
  const object = activity.data.object;
  if (typeof object !== "object" || object === null)
    return skip("post", ref, "the post is not in the archive");
  const objectType = (object as { type?: unknown }).type;
  if (objectType !== "Note" && objectType !== "Question") {
    return skip("post", ref, `${String(objectType).slice(0, 50)} objects are not imported`);
  }
  const parsed = ArchivedNote.safeParse(object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return skip(
      "post",
      ref,
      `invalid post: ${issue?.path.join(".") || "object"} ${issue?.message ?? ""}`.trim(),
    );
  }
  const note = parsed.data;
  const when = note.published ?? activity.data.published;
  if (!when) return skip("post", note.id, "the post has no date");
  const published = new Date(Math.min(Date.parse(when), now.getTime()));
  return { kind: "post", plan: await planPost(index, note, activity.data.actor, published, now) };
}

/** An Announce: the boosted post's URI (http(s) only), its date and who could see the boost. */
function readBoost(
  index: number,
  ref: string,
  activity: z.infer<typeof ArchivedActivity>,
  now: Date,
): ItemOutcome {
  const object = IdRef.safeParse(activity.object);
  if (!object.success) return skip("boost", ref, "the boosted post has no http(s) URI");
  if (!activity.published) return skip("boost", object.data, "the boost has no date");
  const visibility = visibilityOf(
    activity.to ?? [],
    activity.cc ?? [],
    activity.actor ? `${activity.actor}/followers` : null,
  );
  if (visibility === "direct") return skip("boost", object.data, "a boost addressed to no one");
  const published = new Date(Math.min(Date.parse(activity.published), now.getTime())).toISOString();
  return { kind: "boost", boost: { item: index, uri: object.data, published, visibility } };
}

function skip(what: "post" | "boost" | "item", ref: string, reason: string): ItemOutcome {
  return { kind: "skip", what, ref: ref.slice(0, 2048), reason };
}

async function planPost(
  item: number,
  note: ArchivedNote,
  actor: string | undefined,
  published: Date,
  now: Date,
): Promise<PostPlan> {
  const author = note.attributedTo?.[0] ?? actor;
  const to = note.to ?? [];
  const cc = note.cc ?? [];
  const mapKey = note.contentMap ? Object.keys(note.contentMap)[0] : undefined;
  const source = note.content ?? (mapKey !== undefined ? note.contentMap?.[mapKey] : undefined) ?? "";
  const mentions: Mention[] = [];
  const tags: Tag[] = [];
  for (const tag of note.tag) {
    if (tag.type === "Mention" && tag.href) mentions.push({ uri: tag.href, name: tag.name ?? tag.href });
    const name = tag.type === "Hashtag" && tag.name ? truncate(displayTag(tag.name), 100) : "";
    if (name && normalizeTag(name)) tags.push({ name });
  }
  const spoiler = note.summary ? truncate(note.summary.replace(/<[^>]*>/g, ""), 1000) : "";
  return {
    item,
    oldUri: note.id,
    oldUrl: note.url ?? note.id,
    published,
    type: note.type,
    visibility: visibilityOf(to, cc, author ? `${author}/followers` : null),
    content: await sanitizeHtml(source),
    spoilerText: spoiler,
    sensitive: note.sensitive ?? spoiler !== "",
    language: mapKey && LANGUAGE.test(mapKey) ? mapKey : null,
    inReplyTo: note.inReplyTo ?? null,
    mentions: mentions.slice(0, 100),
    tags: tags.slice(0, 30),
    poll: note.type === "Question" ? closedPoll(note, published, now) : null,
    media: note.attachment.slice(0, 4).map((a) => ({
      path: a.url,
      ...(a.mediaType ? { mediaType: a.mediaType } : {}),
      description: a.name ? truncate(a.name, 1500) : null,
      focus: a.focalPoint ? { x: a.focalPoint[0], y: a.focalPoint[1] } : null,
      blurhash: a.blurhash ?? null,
      width: a.width ?? null,
      height: a.height ?? null,
    })),
  };
}

/** The poll as it ended: its final counts, closed when it ended (or now, if it was still open). */
function closedPoll(note: ArchivedNote, published: Date, now: Date): Poll {
  const choices = note.anyOf ?? note.oneOf ?? [];
  const ended = typeof note.closed === "string" ? note.closed : note.endTime;
  const closed = new Date(Math.min(Date.parse(ended ?? "") || now.getTime(), now.getTime()));
  const at = new Date(Math.max(closed.getTime(), published.getTime())).toISOString();
  return {
    mode: note.anyOf ? "anyOf" : "oneOf",
    options: choices.map((o) => ({ name: o.name, votes: o.replies?.totalItems ?? 0 })),
    endTime: at,
    closed: at,
    votersCount: note.votersCount ?? choices.reduce((n, o) => n + (o.replies?.totalItems ?? 0), 0),
    imported: true,
  };
}
