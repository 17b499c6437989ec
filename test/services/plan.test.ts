import { describe, expect, it } from "vitest";
import { dayUse, emptyTotals, monthlyEstimate, warnings, type Totals } from "../../worker/services/plan";
import { barChart, niceMax } from "../../worker/web/charts";

const totals = (t: Partial<Totals>): Totals => ({ ...emptyTotals(), ...t });

describe("the day against the Free plan", () => {
  it("projects when a limit runs out at the last 60 minutes' rate", () => {
    const now = new Date("2026-12-01T12:30:00Z");
    const use = dayUse(
      totals({ d1RowsWritten: 50_000, requests: 10_000 }),
      totals({ d1RowsWritten: 6_000, requests: 100 }),
      totals({ d1RowsWritten: 8_000, requests: 100 }),
      now,
    );
    const w = use.find((u) => u.metric === "d1RowsWritten")!;
    // 6,000 this half hour + half of the last hour's 8,000 = 10,000 an hour: 50,000 left is 5 hours.
    expect(w.perHour).toBe(10_000);
    expect(w.runsOutAt).toBe("2026-12-01T17:30:00.000Z");
    expect(w.share).toBe(0.5);
    // 150 requests an hour never reach 100,000 today.
    expect(use.find((u) => u.metric === "requests")!.runsOutAt).toBeNull();
    expect(warnings(use, { maxSubrequests: 10, maxD1Queries: 10, d1Bytes: 1e6, cappedRelays: [] })).toEqual([
      {
        level: "warn",
        text: "At this rate the Free plan's D1 rows written run out at 17:30 UTC (50,000 of 100,000 used).",
      },
    ]);
  });

  it("says a limit is used up, and warns near the per-invocation limits and the database size", () => {
    const now = new Date("2026-12-01T20:00:00Z");
    const use = dayUse(totals({ queueOps: 10_000 }), emptyTotals(), emptyTotals(), now);
    const out = warnings(use, {
      maxSubrequests: 45,
      maxD1Queries: 51,
      d1Bytes: 450 * 1024 ** 2,
      cappedRelays: [{ name: "relay.example", capped: 3 }],
    });
    expect(out.map((w) => w.level)).toEqual(["over", "warn", "over", "warn", "warn"]);
    expect(out[0]!.text).toBe("The Free plan's Queue operations for today are used up (10,000 of 10,000).");
  });
});

describe("a month like the metered days", () => {
  it("costs nothing on Free and $5 on the paid plan for a follows-only week", () => {
    const week = totals({
      requests: 7 * 5_000,
      d1RowsRead: 7 * 200_000,
      d1RowsWritten: 7 * 8_000,
      queueOps: 7 * 1_500,
    });
    const m = monthlyEstimate(week, 7, { d1Bytes: 20 * 1024 ** 2, r2Bytes: 1024 ** 3 });
    expect(m.freeFits).toBe(true);
    expect(m.freeUsd).toBe(0);
    expect(m.paidUsd).toBe(5);
    expect(m.perMonth.d1RowsWritten).toBe(240_000);
  });

  it("prices what goes beyond the $5 plan's allowance, and names what the Free plan cannot take", () => {
    // 4M rows written a day: 120M a month, 70M beyond the 50M included at $1 per million.
    const day = totals({ d1RowsWritten: 4_000_000, queueOps: 100_000 });
    const m = monthlyEstimate(day, 1, { d1Bytes: 100 * 1024 ** 2, r2Bytes: 0 });
    expect(m.freeFits).toBe(false);
    expect(m.freeOver).toEqual(["d1RowsWritten", "queueOps"]);
    // Queue operations: 3M a month, 2M beyond at $0.40.
    expect(m.paidLines).toEqual([
      { metric: "d1RowsWritten", usd: 70 },
      { metric: "queueOps", usd: 0.8 },
    ]);
    expect(m.paidUsd).toBeCloseTo(75.8);
  });
});

describe("charts", () => {
  it("draw one bar per label with its figures in a title, on a round scale", async () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(730)).toBe(1000);
    expect(niceMax(180)).toBe(200);
    const svg = String(
      await barChart({
        title: "Requests <per> hour",
        labels: ["00", "01", "02"],
        series: [
          { label: "ok", color: "#0a0", values: [1, 0, 3] },
          { label: "failed", color: "#a00", values: [1, 0, 0] },
        ],
      }),
    );
    expect(svg.match(/<g class="bar">/g)).toHaveLength(3);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain("<title>00, ok: 1, failed: 1</title>");
    expect(svg).toContain("Requests &#60;per&#62; hour: ok 4, failed 1");
    expect(svg).not.toContain("<per>");
  });
});
