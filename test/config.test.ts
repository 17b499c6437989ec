import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../worker/config";
import type { Bindings } from "../worker/env";

const base = { USERNAME: "alice" } as Bindings;

describe("configuration", () => {
  it("defaults both domains to the request host in local dev", () => {
    const c = readConfig(base, "localhost:8787");
    expect(c).toMatchObject({ webDomain: "localhost:8787", accountDomain: "localhost:8787", scheme: "http" });
  });

  it("keeps a split domain: the handle on the apex, the actor on the subdomain", () => {
    const c = readConfig({ ...base, ACCOUNT_DOMAIN: "example.com", WEB_DOMAIN: "social.example.com" });
    expect(c).toMatchObject({
      accountDomain: "example.com",
      webDomain: "social.example.com",
      scheme: "https",
    });
  });

  it("refuses loopback federation unless WEB_DOMAIN is a loopback host", () => {
    expect(() =>
      readConfig({ ...base, WEB_DOMAIN: "social.example.com", ALLOW_LOOPBACK_FEDERATION: "true" }),
    ).toThrow(/ALLOW_LOOPBACK_FEDERATION.*not a loopback host/);
    expect(
      readConfig({ ...base, WEB_DOMAIN: "127.0.0.1:8911", ALLOW_LOOPBACK_FEDERATION: "true" }).allowLoopback,
    ).toBe(true);
  });

  it.each([
    [{ WEB_DOMAIN: "bad domain" }, /WEB_DOMAIN/],
    [{ WEB_DOMAIN: "ok.example", ACCOUNT_DOMAIN: "x/y" }, /ACCOUNT_DOMAIN/],
    [{ WEB_DOMAIN: "ok.example", USERNAME: "no spaces" }, /USERNAME/],
  ])("refuses an invalid value %j", (vars, message) => {
    expect(() => readConfig({ ...base, ...vars } as Bindings)).toThrow(ConfigError);
    expect(() => readConfig({ ...base, ...vars } as Bindings)).toThrow(message);
  });
});
