import { beforeEach, describe, expect, it } from "vitest";
import { blocks } from "../../worker/db/schema";
import { testCtx } from "../helpers/app";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { owner } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

describe("the rest of the client API", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken();
  });

  it("has no custom emojis, announcements, suggestions or scheduled statuses", async () => {
    const emojis = await api("GET", "/api/v1/custom_emojis");
    expect(emojis.status).toBe(200);
    expect(emojis.body).toEqual([]);
    for (const e of emojis.body) expectEntity("CustomEmoji", e);

    const announcements = await api("GET", "/api/v1/announcements", token);
    expect(announcements.status).toBe(200);
    expect(announcements.body).toEqual([]);
    for (const a of announcements.body) expectEntity("Announcement", a);
    expect((await api("GET", "/api/v1/announcements")).status).toBe(401);
    for (const [method, path] of [
      ["POST", "/api/v1/announcements/1/dismiss"],
      ["PUT", "/api/v1/announcements/1/reactions/%F0%9F%91%8D"],
      ["DELETE", "/api/v1/announcements/1/reactions/%F0%9F%91%8D"],
      ["GET", "/api/v1/scheduled_statuses/1"],
      ["PUT", "/api/v1/scheduled_statuses/1"],
      ["DELETE", "/api/v1/scheduled_statuses/1"],
    ] as const) {
      const res = await api(method, path, token);
      expect(res.status, `${method} ${path}`).toBe(404);
      expectEntity("Error", res.body);
    }

    for (const path of ["/api/v1/suggestions", "/api/v2/suggestions", "/api/v1/scheduled_statuses"]) {
      const res = await api("GET", path, token);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual([]);
    }
    const removed = await api("DELETE", "/api/v1/suggestions/123", token);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({});
    expect((await api("GET", "/api/v1/suggestions", await userToken("read:statuses"))).status).toBe(403);
  });

  it("lists discoverable accounts in the directory, by activity or newest", async () => {
    const me = await owner();
    const found = { discoverable: true };
    const quiet = await remoteAccount("quiet", "remote.example", found);
    const active = await remoteAccount("active", "remote.example", found);
    const older = await remoteAccount("older", "remote.example", found);
    const hidden = await remoteAccount("hidden");
    const blocked = await remoteAccount("blocked", "remote.example", found);
    await remoteStatus(older, { published: new Date(Date.now() - 86_400_000).toISOString() });
    await remoteStatus(active);
    await remoteStatus(hidden);
    await remoteStatus(blocked);
    await testCtx().db.insert(blocks).values({ accountId: me.id, targetAccountId: blocked.id });

    const res = await api("GET", "/api/v1/directory");
    expect(res.status).toBe(200);
    for (const a of res.body) expectEntity("Account", a);
    expect(res.body.map((a: { id: string }) => a.id)).toEqual([active.id, older.id]);

    const newest = await api("GET", "/api/v1/directory?order=new&limit=2");
    for (const a of newest.body) expectEntity("Account", a);
    expect(newest.body.map((a: { username: string }) => a.username)).toEqual(["older", "active"]);
    expect(newest.headers.get("link")).toContain("offset=2");
    const rest = await api("GET", "/api/v1/directory?order=new&limit=2&offset=2");
    expect(rest.body.map((a: { id: string }) => a.id)).toEqual([quiet.id, me.id]);

    const local = await api("GET", "/api/v1/directory?local=true&order=new");
    expect(local.body.map((a: { id: string }) => a.id)).toEqual([me.id]);
    expect((await api("GET", "/api/v1/directory?order=random")).status).toBe(422);
  });

  it("answers Web Push, reports and the admin API with clear refusals", async () => {
    const none = await api("GET", "/api/v1/push/subscription", token);
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ error: "Record not found" });
    for (const method of ["POST", "PUT"]) {
      const res = await api(method, "/api/v1/push/subscription", token, {
        subscription: { endpoint: "https://push.example/x", keys: { p256dh: "a", auth: "b" } },
      });
      expect(res.status).toBe(422);
      expectEntity("Error", res.body);
      expect(res.body.error).toMatch(/Web Push/);
    }
    expect((await api("DELETE", "/api/v1/push/subscription", token)).body).toEqual({});
    expect((await api("GET", "/api/v1/push/subscription", await userToken("read"))).status).toBe(403);

    const report = await api("POST", "/api/v1/reports", token, { account_id: "1" });
    expect(report.status).toBe(422);
    expectEntity("Error", report.body);
    expect(report.body.error).toMatch(/single-user/);

    for (const [method, path] of [
      ["GET", "/api/v1/admin/accounts"],
      ["POST", "/api/v1/admin/accounts/1/action"],
      ["GET", "/api/v2/admin/accounts"],
    ] as const) {
      const res = await api(method, path, token);
      expect(res.status, path).toBe(403);
      expect(res.body).toEqual({ error: "This action is not allowed" });
    }
  });

  it("tells clients there is no streaming server", async () => {
    const health = await api("GET", "/api/v1/streaming/health");
    expect(health.status).toBe(503);
    expectEntity("Error", health.body);
    for (const path of ["/api/v1/streaming", "/api/v1/streaming/user", "/api/v1/streaming?stream=user"]) {
      const res = await api("GET", path, token, undefined, { upgrade: "websocket" });
      expect(res.status, path).toBe(404);
      expectEntity("Error", res.body);
    }
  });
});
