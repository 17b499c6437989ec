import { sql } from "drizzle-orm";
import { storeActor } from "../../services/accounts";
import { notify } from "../../services/notifications";
import { findStatusByUri, updateRemoteNote } from "../../services/remote-statuses";
import { objectId } from "../schemas";
import { authenticObject } from "./create";
import { PermanentError, type InboxContext } from "./index";

const ACTOR_TYPES = new Set(["Person", "Service", "Application", "Group", "Organization"]);

/** Update of the actor's own profile, or an edit of a note, only by the note's author. */
export async function handleUpdate(ic: InboxContext): Promise<void> {
  const { ctx, activity, actor } = ic;
  const object = activity.object as { type?: unknown } | undefined;
  if (
    object &&
    typeof object === "object" &&
    typeof object.type === "string" &&
    ACTOR_TYPES.has(object.type)
  ) {
    if (objectId(object) !== actor.uri) throw new PermanentError("actor may only update itself");
    if (!ic.authentic) return;
    await storeActor(ctx, object);
    return;
  }
  const note = await authenticObject(ic);
  if (!note) return;
  const existing = await findStatusByUri(ctx, note.id);
  if (!existing) return;
  if (existing.accountId !== actor.id || note.attributedTo !== actor.uri) {
    throw new PermanentError("only the author may edit a note");
  }
  await updateRemoteNote(ctx, existing, note, actor);
  const after = await findStatusByUri(ctx, note.id);
  if (after?.editedAt && after.editedAt !== existing.editedAt) {
    // Mastodon tells those who boosted or favourited a post that it was edited.
    const ownerId = ic.local.owner.id;
    await notify(ctx, {
      type: "update",
      fromAccountId: actor.id,
      status: { id: existing.id },
      key: `update-${after.editedAt}-`,
      unique: true,
      activityUri: activity.id,
      when: sql`(EXISTS (SELECT 1 FROM statuses WHERE reblog_of_id = sid AND account_id = ${ownerId} AND deleted_at IS NULL)
        OR EXISTS (SELECT 1 FROM favourites WHERE status_id = sid AND account_id = ${ownerId}))`,
    });
  }
}
