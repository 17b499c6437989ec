import { describe, expect, it } from "vitest";
import { request } from "../helpers/app";

describe("CORS for browser clients", () => {
  it("answers a preflight on the API with the methods and headers clients send", async () => {
    const res = await request("/api/v1/statuses", {
      method: "OPTIONS",
      headers: {
        origin: "https://elk.zone",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
  });

  it("exposes the Link header on API responses and covers the token endpoint", async () => {
    const res = await request("/api/v1/instance", { headers: { origin: "https://phanpy.social" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-expose-headers")).toContain("Link");
    const token = await request("/oauth/token", {
      method: "OPTIONS",
      headers: { origin: "https://elk.zone", "access-control-request-method": "POST" },
    });
    expect(token.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("does not open the authorization page or the owner API to other origins", async () => {
    const res = await request("/oauth/authorize?client_id=x", {
      headers: { origin: "https://evil.example" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
