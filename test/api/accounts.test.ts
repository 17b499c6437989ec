import { describe, expect, it } from "vitest";
import { request } from "../helpers/app";
import { bearer, userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

describe("verify_credentials", () => {
  it("returns the owner as a valid CredentialAccount with source and role", async () => {
    const token = await userToken("read");
    const res = await request("/api/v1/accounts/verify_credentials", { headers: bearer(token) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expectEntity("CredentialAccount", body);
    expect(body).toMatchObject({
      username: "alice",
      acct: "alice",
      uri: "https://social.example.com/users/alice",
      locked: false,
    });
    expect(body.source).toMatchObject({ privacy: "public", follow_requests_count: 0 });
  });

  it("accepts the narrow profile scope and refuses a token without read access (403)", async () => {
    expect(
      (await request("/api/v1/accounts/verify_credentials", { headers: bearer(await userToken("profile")) }))
        .status,
    ).toBe(200);
    const res = await request("/api/v1/accounts/verify_credentials", {
      headers: bearer(await userToken("write")),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "This action is outside the authorized scopes" });
  });

  it("401 without a token", async () => {
    expect((await request("/api/v1/accounts/verify_credentials")).status).toBe(401);
  });
});
