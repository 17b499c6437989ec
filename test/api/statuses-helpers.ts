import { env } from "cloudflare:test";
import { vi } from "vitest";
import type { Account } from "../../worker/db/client";
import { follows, mediaAttachments } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";
import { queuedDeliveries } from "../helpers/deliveries";

/** Makes `account` an accepted follower of the owner (so the owner's posts are delivered to it). */
export async function follower(account: Account): Promise<void> {
  const me = await owner();
  await testCtx()
    .db.insert(follows)
    .values({
      id: newId(),
      accountId: account.id,
      targetAccountId: me.id,
      uri: `${account.uri}#follows/${newId()}`,
      accepted: true,
    });
}

/** An uploaded, unattached media row, as the media API would leave it. */
export async function uploadedMedia(extra: Partial<typeof mediaAttachments.$inferInsert> = {}) {
  const id = newId();
  const [row] = await testCtx()
    .db.insert(mediaAttachments)
    .values({
      id,
      type: "image",
      mimeType: "image/png",
      key: `media/${id}.png`,
      size: 100,
      width: 640,
      height: 480,
      description: "a bird",
      blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
      ...extra,
    })
    .returning();
  return row!;
}

/** Records what is queued for delivery from now on: `sent()` lists { inbox, activity }. */
export function watchDeliveries() {
  const spy = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
  return {
    sent: () => queuedDeliveries(spy.mock.calls as unknown[][]),
  };
}
