import { describe, expect, it } from "vitest";
import { api, remoteAccount } from "../helpers/api";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

/**
 * Every accounts and relationships route with the scope it needs, as Mastodon declares them: a token
 * without the scope is refused with 403, and routes that need a user answer 401 without a token, while
 * the public reads answer without one.
 */
type Route = [method: string, path: (id: string) => string, scope: string, isPublic: boolean];

const ROUTES: Route[] = [
  ["GET", (id) => `/api/v1/accounts/${id}`, "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts?id[]=${id}`, "read:accounts", true],
  ["GET", () => "/api/v1/accounts/lookup?acct=alice", "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/statuses`, "read:statuses", true],
  ["GET", (id) => `/api/v1/accounts/${id}/followers`, "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/following`, "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/featured_tags`, "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/endorsements`, "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/identity_proofs`, "read:accounts", true],
  ["GET", () => "/api/v1/accounts/search?q=bob", "read:accounts", true],
  ["GET", (id) => `/api/v1/accounts/${id}/lists`, "read:lists", false],
  ["GET", (id) => `/api/v1/accounts/relationships?id[]=${id}`, "read:follows", false],
  ["GET", (id) => `/api/v1/accounts/familiar_followers?id[]=${id}`, "read:follows", false],
  ["POST", (id) => `/api/v1/accounts/${id}/follow`, "write:follows", false],
  ["POST", (id) => `/api/v1/accounts/${id}/unfollow`, "write:follows", false],
  ["POST", (id) => `/api/v1/accounts/${id}/remove_from_followers`, "write:follows", false],
  ["POST", (id) => `/api/v1/accounts/${id}/block`, "write:blocks", false],
  ["POST", (id) => `/api/v1/accounts/${id}/unblock`, "write:blocks", false],
  ["POST", (id) => `/api/v1/accounts/${id}/mute`, "write:mutes", false],
  ["POST", (id) => `/api/v1/accounts/${id}/unmute`, "write:mutes", false],
  ["POST", (id) => `/api/v1/accounts/${id}/pin`, "write:accounts", false],
  ["POST", (id) => `/api/v1/accounts/${id}/unpin`, "write:accounts", false],
  ["POST", (id) => `/api/v1/accounts/${id}/note`, "write:accounts", false],
  ["GET", () => "/api/v1/follow_requests", "read:follows", false],
  ["POST", (id) => `/api/v1/follow_requests/${id}/authorize`, "write:follows", false],
  ["POST", (id) => `/api/v1/follow_requests/${id}/reject`, "write:follows", false],
  ["GET", () => "/api/v1/blocks", "read:blocks", false],
  ["GET", () => "/api/v1/mutes", "read:mutes", false],
  ["GET", () => "/api/v1/endorsements", "read:accounts", false],
  ["GET", () => "/api/v1/domain_blocks", "read:blocks", false],
  ["POST", () => "/api/v1/domain_blocks?domain=spam.example", "write:blocks", false],
  ["DELETE", () => "/api/v1/domain_blocks?domain=spam.example", "write:blocks", false],
  ["GET", () => "/api/v1/featured_tags", "read:accounts", false],
  ["GET", () => "/api/v1/featured_tags/suggestions", "read:accounts", false],
  ["POST", () => "/api/v1/featured_tags?name=cats", "write:accounts", false],
  ["DELETE", () => "/api/v1/featured_tags/123", "write:accounts", false],
];

describe("scopes of the accounts and relationships routes", () => {
  it("refuse tokens without the scope (403) and, where a user is needed, requests without one (401)", async () => {
    const bob = await remoteAccount("bob");
    // `push` grants nothing here; `profile` only verify_credentials.
    const unrelated = await userToken("push profile");
    const failures: string[] = [];
    for (const [method, path, , isPublic] of ROUTES) {
      const url = path(bob.id);
      const forbidden = await api(method, url, unrelated);
      if (forbidden.status !== 403) failures.push(`${method} ${url} with no scope: ${forbidden.status}`);
      else expectEntity("Error", forbidden.body);
      const anonymous = await api(method, url);
      if (isPublic ? anonymous.status !== 200 : anonymous.status !== 401)
        failures.push(`${method} ${url} without a token: ${anonymous.status}`);
      if (!isPublic) expectEntity("Error", anonymous.body);
    }
    expect(failures).toEqual([]);
  });

  it("each route works with exactly its granular scope", async () => {
    const bob = await remoteAccount("bob");
    const scopes = [...new Set(ROUTES.map((r) => r[2]))];
    const tokens = new Map<string, string>();
    for (const s of scopes) tokens.set(s, await userToken(s));
    const failures: string[] = [];
    for (const [method, path, scope] of ROUTES) {
      const url = path(bob.id);
      const res = await api(method, url, tokens.get(scope));
      // Authorized: anything but 401/403 (a follow request that does not exist is a 404, pinning an
      // account that is not followed is 422).
      if (res.status === 401 || res.status === 403) failures.push(`${method} ${url}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });
});
