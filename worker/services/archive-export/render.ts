/**
 * What goes into an exported archive, in the shape Mastodon's BackupService writes and Perch's own
 * import reads back (services/archive-import/items.ts): each post is the Create that Perch federates
 * (federation/note.ts), with its attachments' URLs turned into paths inside the archive
 * (`media_attachments/files/…`); boosts are Announces; actor.json is the Person Perch serves, its
 * icon and image pointing at `avatar.<ext>` and `header.<ext>` in the archive; likes.json and
 * bookmarks.json are OrderedCollections of the posts' URIs.
 * https://docs.joinmastodon.org/user/moving/#export
 */
import type { Config } from "../../config";
import type { Status } from "../../db/client";
import { renderActor } from "../../federation/actor";
import { renderAnnounce, renderCreate } from "../../federation/note";
import type { Instance } from "../instance";

export const AS_CONTEXT = "https://www.w3.org/ns/activitystreams";

/** The extension of a key or URL's last segment (with its dot), or "". */
export function extensionOf(keyOrUrl: string): string {
  const last = keyOrUrl.split(/[?#]/)[0]?.split("/").pop() ?? "";
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(last);
  return m ? `.${m[1]?.toLowerCase()}` : "";
}

/**
 * Where a media file lives in the archive: Mastodon's layout (the id split in threes, then
 * `original/`), so other importers find it where they look.
 */
export function mediaPath(mediaId: string, keyOrUrl: string): string {
  const split = mediaId.match(/.{1,3}/g)?.join("/") ?? mediaId;
  return `media_attachments/files/${split}/original/${mediaId}${extensionOf(keyOrUrl)}`;
}

/** A post as its outbox item: the federated Create with archive paths for its media. */
export function exportedCreate(config: Config, status: Status): Record<string, unknown> {
  const activity = renderCreate(config, status);
  const note = activity.object as Record<string, unknown>;
  const attachments = note.attachment as Record<string, unknown>[];
  note.attachment = attachments.map((a, i) => {
    const source = status.attachments[i];
    return source?.mediaId ? { ...a, url: mediaPath(source.mediaId, source.url) } : a;
  });
  return activity;
}

/** A boost as its outbox item: the Announce of the boosted post's URI. */
export function exportedAnnounce(config: Config, status: Status, objectUri: string): Record<string, unknown> {
  return renderAnnounce(config, status, objectUri);
}

/** actor.json: the Person Perch serves, with the avatar and header as files in the archive. */
export function exportedActor(
  config: Config,
  instance: Instance,
  files: { avatar: string | null; header: string | null },
): Record<string, unknown> {
  const actor = renderActor(config, instance);
  const icon = actor.icon as Record<string, unknown> | undefined;
  const image = actor.image as Record<string, unknown> | undefined;
  if (icon) {
    if (files.avatar) actor.icon = { ...icon, url: files.avatar };
    else delete actor.icon;
  }
  if (image) {
    if (files.header) actor.image = { ...image, url: files.header };
    else delete actor.image;
  }
  return actor;
}

/** The start of an OrderedCollection file whose items follow, comma-separated, then `COLLECTION_END`. */
export function collectionStart(id: string, totalItems?: number): string {
  const head = JSON.stringify({
    "@context": AS_CONTEXT,
    id,
    type: "OrderedCollection",
    ...(totalItems === undefined ? {} : { totalItems }),
    orderedItems: [],
  });
  // The same document with its (last) array left open.
  return head.slice(0, -"]}".length);
}

export const COLLECTION_END = "]}";
