import { describe, expect, it } from "vitest";
import { allows, parseScopes, within } from "../../worker/oauth/scopes";

describe("scopes", () => {
  it("parses space or plus separated scopes, defaulting to read, and refuses unknown ones", () => {
    expect(parseScopes("read write+follow")).toEqual(["read", "write", "follow"]);
    expect(parseScopes(undefined)).toEqual(["read"]);
    expect(parseScopes("read admin:read")).toBeNull();
  });

  it.each([
    [["read"], "read:statuses", true],
    [["read:statuses"], "read:statuses", true],
    [["read:statuses"], "read:accounts", false],
    [["write"], "read:statuses", false],
    [["follow"], "write:follows", true],
    [["follow"], "write:statuses", false],
    [["read:accounts"], "profile", true],
    [["push"], "read", false],
  ] as const)("%j allows %s: %s", (granted, required, expected) => {
    expect(allows([...granted], required)).toBe(expected);
  });

  it("checks requested scopes against registered ones", () => {
    expect(within(["read:statuses", "write:media"], ["read", "write"])).toBe(true);
    expect(within(["write"], ["read"])).toBe(false);
  });
});
