import type { Config } from "../config";
import type { Status } from "../db/client";
import { OBJECT_CONTEXT } from "./jsonld";
import { uris } from "./uris";

/** A local status as an ActivityStreams object (without @context, for embedding). */
export function renderNote(config: Config, status: Status): Record<string, unknown> {
  const u = uris(config);
  const note: Record<string, unknown> = {
    id: status.uri,
    type: status.type,
    attributedTo: u.actor,
    inReplyTo: status.inReplyToUri,
    published: status.publishedAt,
    url: status.url,
    to: status.audience.to,
    cc: status.audience.cc,
    sensitive: status.sensitive,
    summary: status.spoilerText || null,
    content: status.content,
    tag: [
      ...status.mentions.map((m) => ({ type: "Mention", href: m.uri, name: m.name })),
      ...status.tags.map((t) => ({
        type: "Hashtag",
        href: t.href ?? `${u.base}/tags/${encodeURIComponent(t.name)}`,
        name: `#${t.name}`,
      })),
    ],
    attachment: status.attachments.map((a) => ({
      type: a.type === "Image" || a.type === "Video" || a.type === "Audio" ? a.type : "Document",
      mediaType: a.mediaType,
      url: a.url,
      name: a.name ?? null,
      blurhash: a.blurhash,
      width: a.width,
      height: a.height,
      ...(a.focus ? { focalPoint: [a.focus.x, a.focus.y] } : {}),
    })),
  };
  if (status.language) note.contentMap = { [status.language]: status.content };
  if (status.editedAt) note.updated = status.editedAt;
  if (status.poll) {
    const options = status.poll.options.map((o) => ({
      type: "Note",
      name: o.name,
      replies: { type: "Collection", totalItems: o.votes },
    }));
    note[status.poll.mode] = options;
    if (status.poll.endTime) note.endTime = status.poll.endTime;
    if (status.poll.closed) note.closed = status.poll.closed;
    note.votersCount = status.poll.votersCount ?? 0;
  }
  return note;
}

export function withContext(doc: Record<string, unknown>): Record<string, unknown> {
  return { "@context": OBJECT_CONTEXT, ...doc };
}

/** The Create activity for a local status, with the id Mastodon peers expect (`…/activity`). */
export function renderCreate(config: Config, status: Status): Record<string, unknown> {
  const u = uris(config);
  return {
    id: u.statusActivity(status.id),
    type: "Create",
    actor: u.actor,
    published: status.publishedAt,
    to: status.audience.to,
    cc: status.audience.cc,
    object: renderNote(config, status),
  };
}

/** A boost as an Announce; `objectUri` is the boosted status's URI. */
export function renderAnnounce(config: Config, status: Status, objectUri: string): Record<string, unknown> {
  const u = uris(config);
  return {
    id: status.uri,
    type: "Announce",
    actor: u.actor,
    published: status.publishedAt,
    to: status.audience.to,
    cc: status.audience.cc,
    object: objectUri,
  };
}

export function renderTombstone(status: Status): Record<string, unknown> {
  return {
    "@context": OBJECT_CONTEXT,
    id: status.uri,
    type: "Tombstone",
    formerType: status.type,
    deleted: status.deletedAt,
  };
}
