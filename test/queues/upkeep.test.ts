import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rows } from "../helpers/inbox";
import { upkeep } from "../../worker/queues/upkeep";

describe("cron upkeep", () => {
  it("forgets inbox activity ids older than a week and keeps recent ones", async () => {
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO inbox_seen (activity_id, received_at) VALUES ('old', '2020-01-01T00:00:00.000Z')",
      ),
      env.DB.prepare("INSERT INTO inbox_seen (activity_id) VALUES ('new')"),
    ]);
    await upkeep(env);
    expect(await rows("SELECT activity_id FROM inbox_seen")).toEqual([{ activity_id: "new" }]);
  });
});
