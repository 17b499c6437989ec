import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Account } from "../../worker/db/client";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

let token: string;
let bob: Account;
beforeEach(async () => {
  token = await userToken();
  mockFetch({});
  bob = await remoteAccount("bob");
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const ids = (body: { id: string }[]) => body.map((s) => s.id);

for (const [list, action, scope] of [
  ["bookmarks", "bookmark", "read:bookmarks"],
  ["favourites", "favourite", "read:favourites"],
] as const) {
  describe(`GET /api/v1/${list}`, () => {
    it("lists newest first by when they were added, paginated with Link headers", async () => {
      const a = await remoteStatus(bob, { content: "<p>a</p>" });
      const b = await remoteStatus(bob, { content: "<p>b</p>" });
      const c = await remoteStatus(bob, { content: "<p>c</p>" });
      // Added in the order b, a, c: the list follows that, not the statuses' own ids.
      for (const s of [b, a, c])
        expect((await api("POST", `/api/v1/statuses/${s.id}/${action}`, token)).status).toBe(200);
      const first = await api("GET", `/api/v1/${list}?limit=2`, token);
      expect(first.status).toBe(200);
      for (const s of first.body) expectEntity("Status", s);
      expect(ids(first.body)).toEqual([c.id, a.id]);
      const link = first.headers.get("link") ?? "";
      const next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
      expect(next).toBeDefined();
      const second = await api("GET", new URL(next!).pathname + new URL(next!).search, token);
      for (const s of second.body) expectEntity("Status", s);
      expect(ids(second.body)).toEqual([b.id]);
      const prev = /<([^>]+)>; rel="prev"/.exec(link)?.[1];
      const newer = await api("GET", new URL(prev!).pathname + new URL(prev!).search, token);
      expect(newer.body).toEqual([]);
    });

    it("leaves out deleted statuses", async () => {
      const own = await api("POST", "/api/v1/statuses", token, { status: "mine" });
      await api("POST", `/api/v1/statuses/${own.body.id}/${action}`, token);
      await api("DELETE", `/api/v1/statuses/${own.body.id}`, token);
      const res = await api("GET", `/api/v1/${list}`, token);
      expect(res.body).toEqual([]);
    });

    it(`needs ${scope} (403) and a token (401)`, async () => {
      expect((await api("GET", `/api/v1/${list}`)).status).toBe(401);
      expect((await api("GET", `/api/v1/${list}`, await userToken("write"))).status).toBe(403);
      const ok = await api("GET", `/api/v1/${list}`, await userToken(scope));
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual([]);
    });
  });
}
