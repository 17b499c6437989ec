import { and, eq } from "drizzle-orm";
import { pins } from "../../db/schema";
import { findStatusByUri, resolveStatus } from "../../services/remote-statuses";
import { IdRef, objectId } from "../schemas";
import type { InboxContext } from "./index";

/** Add/Remove on the actor's own `featured` collection: pinned posts. Other targets are ignored. */
function isOwnFeatured({ activity, actor }: InboxContext): boolean {
  const target = IdRef.safeParse(activity.target);
  return target.success && !!actor.featuredUrl && target.data === actor.featuredUrl;
}

export async function handleAdd(ic: InboxContext): Promise<void> {
  const id = objectId(ic.activity.object);
  if (!id || !isOwnFeatured(ic)) return;
  const status = await resolveStatus(ic.ctx, id);
  if (status.accountId !== ic.actor.id) return;
  await ic.ctx.db.insert(pins).values({ accountId: ic.actor.id, statusId: status.id }).onConflictDoNothing();
}

export async function handleRemove(ic: InboxContext): Promise<void> {
  const id = objectId(ic.activity.object);
  if (!id || !isOwnFeatured(ic)) return;
  const status = await findStatusByUri(ic.ctx, id);
  if (!status) return;
  await ic.ctx.db.delete(pins).where(and(eq(pins.accountId, ic.actor.id), eq(pins.statusId, status.id)));
}
