import { beforeEach, describe, expect, it } from "vitest";
import { follows } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import type { Account } from "../../worker/db/client";
import { testCtx } from "../helpers/app";
import { api, remoteAccount } from "../helpers/api";
import { owner, rows } from "../helpers/inbox";
import { removeFromAllLists } from "../../worker/services/lists";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

async function followed(username: string): Promise<Account> {
  const account = await remoteAccount(username);
  const me = await owner();
  const id = newId();
  await testCtx()
    .db.insert(follows)
    .values({
      id,
      accountId: me.id,
      targetAccountId: account.id,
      uri: `https://x.example/f/${id}`,
      accepted: true,
    });
  return account;
}

describe("lists", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken();
  });

  it("creates, shows, updates, lists and deletes a list", async () => {
    const created = await api("POST", "/api/v1/lists", token, { title: "Friends" });
    expect(created.status).toBe(200);
    expectEntity("List", created.body);
    expect(created.body).toMatchObject({ title: "Friends", replies_policy: "list", exclusive: false });

    const shown = await api("GET", `/api/v1/lists/${created.body.id}`, token);
    expectEntity("List", shown.body);
    expect(shown.body.id).toBe(created.body.id);

    const form = new URLSearchParams({
      title: "Close friends",
      replies_policy: "followed",
      exclusive: "true",
    });
    const updated = await api("PUT", `/api/v1/lists/${created.body.id}`, token, form);
    expect(updated.status).toBe(200);
    expectEntity("List", updated.body);
    expect(updated.body).toMatchObject({
      title: "Close friends",
      replies_policy: "followed",
      exclusive: true,
    });

    const second = await api("POST", "/api/v1/lists", token, { title: "Work", replies_policy: "none" });
    const all = await api("GET", "/api/v1/lists", token);
    expect(all.body.map((l: { id: string }) => l.id)).toEqual([created.body.id, second.body.id]);
    for (const l of all.body) expectEntity("List", l);

    const deleted = await api("DELETE", `/api/v1/lists/${created.body.id}`, token);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    expect((await api("GET", `/api/v1/lists/${created.body.id}`, token)).status).toBe(404);
    expect((await api("GET", "/api/v1/lists", token)).body).toHaveLength(1);
  });

  it("refuses a blank title, an unknown replies_policy, and answers 404 for unknown lists", async () => {
    const blank = await api("POST", "/api/v1/lists", token, { title: "  " });
    expect(blank.status).toBe(422);
    expectEntity("Error", blank.body);
    const missing = await api("POST", "/api/v1/lists", token, {});
    expect(missing.status).toBe(422);
    const policy = await api("POST", "/api/v1/lists", token, { title: "x", replies_policy: "everyone" });
    expect(policy.status).toBe(422);
    expect(await rows("SELECT * FROM lists")).toHaveLength(0);
    for (const path of ["/api/v1/lists/123", "/api/v1/lists/abc", "/api/v1/lists/123/accounts"]) {
      const res = await api("GET", path, token);
      expect(res.status).toBe(404);
      expectEntity("Error", res.body);
    }
    expect((await api("PUT", "/api/v1/lists/123", token, { title: "y" })).status).toBe(404);
    expect((await api("DELETE", "/api/v1/lists/123", token)).status).toBe(404);
  });

  it("needs read:lists / write:lists", async () => {
    expect((await api("GET", "/api/v1/lists")).status).toBe(401);
    const readOnly = await userToken("read:lists");
    expect((await api("GET", "/api/v1/lists", readOnly)).status).toBe(200);
    expect((await api("POST", "/api/v1/lists", readOnly, { title: "x" })).status).toBe(403);
    const writeOnly = await userToken("write:lists");
    expect((await api("POST", "/api/v1/lists", writeOnly, { title: "x" })).status).toBe(200);
    expect((await api("GET", "/api/v1/lists", writeOnly)).status).toBe(403);
  });

  it("adds only followed accounts, pages members with a Link header, removes them", async () => {
    const list = (await api("POST", "/api/v1/lists", token, { title: "L" })).body;
    const a = await followed("ann");
    const b = await followed("bob");
    const c = await followed("cid");
    const stranger = await remoteAccount("stranger");

    const refused = await api("POST", `/api/v1/lists/${list.id}/accounts`, token, {
      account_ids: [a.id, stranger.id],
    });
    expect(refused.status).toBe(422);
    expectEntity("Error", refused.body);
    expect(await rows("SELECT * FROM list_accounts")).toHaveLength(0);

    const unknown = await api("POST", `/api/v1/lists/${list.id}/accounts`, token, { account_ids: ["999"] });
    expect(unknown.status).toBe(404);

    const form = new URLSearchParams();
    for (const x of [a, b, c]) form.append("account_ids[]", x.id);
    const added = await api("POST", `/api/v1/lists/${list.id}/accounts`, token, form);
    expect(added.status).toBe(200);
    expect(added.body).toEqual({});
    // Adding again changes nothing.
    expect(
      (await api("POST", `/api/v1/lists/${list.id}/accounts`, token, { account_ids: [a.id] })).status,
    ).toBe(200);

    const page1 = await api("GET", `/api/v1/lists/${list.id}/accounts?limit=2`, token);
    expect(page1.status).toBe(200);
    for (const acct of page1.body) expectEntity("Account", acct);
    expect(page1.body.map((x: { id: string }) => x.id)).toEqual([c.id, b.id]);
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get("link") ?? "")?.[1];
    expect(next).toContain(`max_id=${b.id}`);
    const page2 = await api("GET", new URL(next!).pathname + new URL(next!).search, token);
    expect(page2.body.map((x: { id: string }) => x.id)).toEqual([a.id]);

    const all = await api("GET", `/api/v1/lists/${list.id}/accounts?limit=0`, token);
    expect(all.body).toHaveLength(3);
    expect(all.headers.get("link")).toBeNull();

    const removed = await api("DELETE", `/api/v1/lists/${list.id}/accounts?account_ids[]=${b.id}`, token);
    expect(removed.status).toBe(200);
    const left = await api("GET", `/api/v1/lists/${list.id}/accounts`, token);
    expect(left.body.map((x: { id: string }) => x.id).sort()).toEqual([a.id, c.id].sort());

    // Deleting the list deletes its memberships with it.
    await api("DELETE", `/api/v1/lists/${list.id}`, token);
    expect(await rows("SELECT * FROM list_accounts")).toHaveLength(0);
  });

  it("removeFromAllLists takes an account out of every list (for unfollows)", async () => {
    const a = await followed("ann");
    const b = await followed("bob");
    const l1 = (await api("POST", "/api/v1/lists", token, { title: "1" })).body;
    const l2 = (await api("POST", "/api/v1/lists", token, { title: "2" })).body;
    for (const l of [l1, l2])
      await api("POST", `/api/v1/lists/${l.id}/accounts`, token, { account_ids: [a.id, b.id] });
    await removeFromAllLists(testCtx(), a.id);
    expect(await rows("SELECT account_id FROM list_accounts")).toEqual([
      { account_id: b.id },
      { account_id: b.id },
    ]);
  });
});
