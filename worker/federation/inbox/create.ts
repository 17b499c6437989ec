import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { parseNote, remoteNoteInsert, storeRemoteNote } from "../../services/remote-statuses";
import { isFollowing } from "../../services/following";
import { fetchDocument } from "../../services/signing";
import { NOTE_TYPES, objectId, type Note } from "../schemas";
import { localStatusId } from "../uris";
import { PermanentError, type InboxContext } from "./index";

/**
 * Create of a Note, Question or Article. Stored when it concerns the owner: from an account the owner
 * follows, addressed to or mentioning the owner, or a reply to a local post. A forwarded Create without
 * a proof is trusted only as re-fetched from the object's origin.
 */
export async function handleCreate(ic: InboxContext): Promise<void> {
  const note = await authenticObject(ic);
  if (!note) return;
  if (note.attributedTo !== ic.actor.uri) throw new PermanentError("Create by someone other than the author");
  if (!(await concernsOwner(ic.ctx, ic, note))) return;
  if (ic.defer) for (const q of (await remoteNoteInsert(ic.ctx, note, ic.actor)).queries) ic.defer(q);
  else await storeRemoteNote(ic.ctx, note, ic.actor);
}

/** The activity's object as a validated Note, re-fetched from its origin when the activity was forwarded. */
export async function authenticObject({ ctx, activity, authentic }: InboxContext): Promise<Note | null> {
  let object: unknown = activity.object;
  if (!authentic || typeof object === "string") {
    const id = objectId(object);
    if (!id) throw new PermanentError("object has no id");
    object = (await fetchDocument(ctx, id)).document;
  }
  const type = (object as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || !(NOTE_TYPES as readonly string[]).includes(type)) return null;
  try {
    return parseNote(object);
  } catch (e) {
    throw new PermanentError(e instanceof Error ? e.message : "invalid object");
  }
}

async function concernsOwner(
  ctx: Ctx,
  { local, actor }: { local: InboxContext["local"]; actor: Account },
  note: Note,
) {
  const ownerUri = local.owner.uri;
  const addressed = [...(note.to ?? []), ...(note.cc ?? [])].includes(ownerUri);
  const mentioned = (note.tag ?? []).some(
    (t) =>
      !!t &&
      typeof t === "object" &&
      (t as { type?: unknown; href?: unknown }).type === "Mention" &&
      (t as { href?: unknown }).href === ownerUri,
  );
  if (addressed || mentioned) return true;
  if (note.inReplyTo && localStatusId(ctx.config, note.inReplyTo)) return true;
  return isFollowing(ctx, local.owner.id, actor.id);
}
