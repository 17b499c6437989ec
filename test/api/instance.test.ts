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

  it("/api/v1/instance is a valid V1Instance but for the streaming URL it has no server for", async () => {
    const res = await request("/api/v1/instance");
    const body = (await res.json()) as Record<string, any>;
    // The v1 schema requires urls.streaming_api and has no way to say "none"; leaving it out is what
    // keeps v1 readers (Elk, Whalebird) from connecting. Everything else must be valid as it is.
    expect(body.urls).toEqual({});
    expectEntity("V1Instance", { ...body, urls: { streaming_api: "wss://placeholder.invalid" } });
    expect(body.registrations).toBe(false);
    expect(body.stats.user_count).toBe(1);
  });

  it("advertises no streaming URL, since /api/v1/streaming does not exist", async () => {
    const v2 = (await (await request("/api/v2/instance")).json()) as Record<string, any>;
    expectEntity("Instance", v2);
    expect(v2.configuration.urls).toEqual({ streaming: null });
    const v1 = (await (await request("/api/v1/instance")).json()) as Record<string, any>;
    expect(v1.urls).not.toHaveProperty("streaming_api");
    expect(JSON.stringify([v1, v2])).not.toMatch(/wss?:\/\//);
    expect((await request("/api/v1/streaming", { headers: { upgrade: "websocket" } })).status).toBe(404);
  });
});
