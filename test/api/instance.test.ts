import { describe, expect, it } from "vitest";
import { request } from "../helpers/app";
import { expectEntity } from "../helpers/openapi";

describe("instance information", () => {
  it("/api/v2/instance is a valid Instance with closed registrations and a Mastodon-compatible version", async () => {
    const res = await request("/api/v2/instance");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expectEntity("Instance", body);
    expect(body.domain).toBe("example.com");
    expect(body.version).toMatch(/^4\.5\.0 \(compatible; Perch \d+\.\d+\.\d+\)$/);
    expect(body.registrations.enabled).toBe(false);
    expect(body.api_versions.mastodon).toBeGreaterThanOrEqual(2);
    expect(body.contact.account.username).toBe("alice");
  });

  it("/api/v1/instance is a valid V1Instance", async () => {
    const res = await request("/api/v1/instance");
    const body = (await res.json()) as Record<string, any>;
    expectEntity("V1Instance", body);
    expect(body.registrations).toBe(false);
    expect(body.stats.user_count).toBe(1);
  });

  it("serves the stand-in avatar image it links to", async () => {
    const res = await request("/avatars/original/missing.png");
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await res.arrayBuffer()).slice(1, 4)).toEqual(new TextEncoder().encode("PNG"));
  });
});
