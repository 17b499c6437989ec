import { describe, expect, it } from "vitest";
import { FLOOR_MS, minIdAt, newId } from "../../worker/lib/ids";

describe("ids", () => {
  it("made now in one isolate never repeat and only grow, even thousands in one millisecond", () => {
    const ids = Array.from({ length: 50_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
  });

  it("made now use the upper half of their millisecond, leaving the lower half to dated statuses", () => {
    for (let i = 0; i < 1000; i++) expect(BigInt(newId()) & 0x8000n).toBe(0x8000n);
  });

  it("all have 18 digits, so that D1's text order is their numeric order, even for posts from 2010", () => {
    expect(newId(Date.parse("2010-01-01T00:00:00Z"))).toHaveLength(18);
    expect(newId(Date.parse("2010-01-01T00:00:00Z")) >= minIdAt(FLOOR_MS)).toBe(true);
    expect(newId()).toHaveLength(18);
    expect(minIdAt(0)).toHaveLength(18);
    expect(minIdAt(Date.parse("2400-01-01T00:00:00Z"))).toHaveLength(18);
  });

  it("sort by the time they were made for", () => {
    const earlier = newId(Date.parse("2024-01-01T00:00:00Z"));
    const later = newId(Date.parse("2024-01-01T00:00:00.001Z"));
    expect(earlier < later).toBe(true);
    expect(minIdAt(Date.parse("2024-01-01T00:00:00.001Z")) <= later).toBe(true);
  });
});
