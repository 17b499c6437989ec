import { createMessageBatch, env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { d1Usage } from "../../worker/db/metered";
import { deadLetters, relayStats, relays, usageHours } from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { meteredBatch } from "../../worker/queues/metered-batch";
import type { Dashboard } from "../../worker/services/dashboard";
import { hourOf } from "../../worker/services/usage";
import { BASE, request, testCtx } from "../helpers/app";
import { rows } from "../helpers/inbox";
import { BROWSER, FORM, signIn } from "./owner-session";

let session: { cookie: string; csrf: string };

beforeEach(async () => {
  session = await signIn();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

async function dashboard(): Promise<Dashboard> {
  const res = await request("/admin/api/dashboard", { headers: { cookie: session.cookie } });
  expect(res.status).toBe(200);
  return (await res.json()) as Dashboard;
}

function use(d: Dashboard, metric: string) {
  const u = d.today.use.find((x) => x.metric === metric);
  if (!u) throw new Error(`no ${metric}`);
  return u;
}

async function form(path: string, fields: Record<string, string> = {}) {
  return request(path, {
    method: "POST",
    headers: { ...BROWSER, ...FORM, origin: BASE, cookie: session.cookie },
    body: new URLSearchParams({ csrf: session.csrf, ...fields }).toString(),
    redirect: "manual",
  });
}

describe("the usage figures", () => {
  it("equal the requests made and the D1 queries and rows they read and wrote", async () => {
    // Everything before this point (the sign-in) is in the figures too: measure from a first look,
    // whose own work shows once it has ended, like every request's.
    const d1Before = { ...d1Usage };
    const before = await dashboard();
    const n = 7;
    for (let i = 0; i < n; i++) {
      expect((await request("/api/v1/instance")).status).toBe(200);
    }
    await request("/api/v1/timelines/public");
    const d1After = { ...d1Usage };
    const after = await dashboard();
    // The first look, the n + 1 requests; the second look is still running.
    expect(use(after, "requests").used - use(before, "requests").used).toBe(1 + n + 1);
    expect(use(after, "d1RowsWritten").used - use(before, "d1RowsWritten").used).toBe(
      d1After.rowsWritten - d1Before.rowsWritten,
    );
    const read = use(after, "d1RowsRead").used - use(before, "d1RowsRead").used;
    expect(read).toBe(d1After.rowsRead - d1Before.rowsRead);
    expect(read).toBeGreaterThan(0);
    expect(after.today.maxD1Queries).toBeGreaterThan(0);
  });

  it("count queue messages sent, processed, retried and failed, with their Queue operations", async () => {
    const ctx = testCtx();
    const message = {
      signer: "https://x.example/actor",
      proofVerified: false,
      receivedAt: new Date().toISOString(),
    };
    await ctx.env.INBOX_QUEUE.send(message);
    await ctx.env.INBOX_QUEUE.sendBatch([{ body: message }, { body: message }]);
    const batch = meteredBatch(
      createMessageBatch("perch-inbox", [
        { id: "m1", timestamp: new Date(Date.now() - 5000), attempts: 1, body: { a: 1 } },
        { id: "m2", timestamp: new Date(), attempts: 1, body: { b: 2 } },
        { id: "m3", timestamp: new Date(), attempts: 1, body: { c: 3 } },
      ]),
    );
    batch.messages[0]!.ack();
    batch.messages[1]!.ack();
    batch.messages[2]!.retry();
    batch.messages[2]!.retry(); // settled once
    const failed = meteredBatch(
      createMessageBatch("perch-delivery-failed", [
        { id: "f1", timestamp: new Date(), attempts: 9, body: {} },
      ]),
    );
    failed.messages[0]!.ack();
    const d = await dashboard();
    const inbox = d.queues.find((q) => q.queue === "inbox")!;
    expect(inbox.total24).toEqual({ sent: 3, processed: 2, retried: 1, failed: 0 });
    expect(inbox.backlog).toBe(1);
    expect(inbox.lagSeconds).toBeGreaterThanOrEqual(5);
    expect(d.queues.find((q) => q.queue === "delivery")!.total24.failed).toBe(1);
  });

  it("show the day's use against the Free plan, and when at this rate a limit runs out", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-01T12:30:00Z") });
    const ctx = testCtx();
    await ctx.db.insert(usageHours).values([
      { hour: "2026-12-01T11", requests: 1000, d1RowsWritten: 40_000 },
      { hour: "2026-12-01T12", requests: 500, d1RowsWritten: 20_000 },
    ]);
    const d = await dashboard();
    const w = use(d, "d1RowsWritten");
    expect(w.used).toBeGreaterThanOrEqual(60_000);
    // The last 60 minutes: this hour's 20,000 and half of the last hour's 40,000.
    expect(w.perHour).toBeGreaterThanOrEqual(40_000);
    expect(w.runsOutAt?.slice(0, 13)).toBe("2026-12-01T13");
    expect(d.warnings.some((x) => /D1 rows written run out at 13:\d\d UTC/.test(x.text))).toBe(true);
    expect(d.month.freeFits).toBe(true);
    const page = await (
      await request("/admin/dashboard", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toMatch(/At this rate the Free plan&#39;s D1 rows written run out at 13:\d\d UTC/);
  });

  it("warn when a relay is held by its cap, and chart its buckets", async () => {
    const ctx = testCtx();
    const id = newId();
    await ctx.db.insert(relays).values({
      id,
      url: "https://relay.example/inbox",
      host: "relay.example",
      protocol: "mastodon",
      inbox: "https://relay.example/inbox",
      followId: "https://social.example.com/actor#follows/relay",
      state: "accepted",
      dailyCap: 100,
      rateCap: 10,
    });
    await ctx.db
      .insert(relayStats)
      .values({ relayId: id, hour: hourOf(new Date()), stored: 100, capped: 42 });
    const d = await dashboard();
    expect(d.relays[0]?.today).toMatchObject({ stored: 100, capped: 42 });
    expect(d.warnings.map((w) => w.text)).toContain(
      "Relay relay.example is capped: 42 of its activities today were over its daily or per-minute cap.",
    );
    const page = await (
      await request("/admin/dashboard", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain("relay.example per hour, last 24 hours");
    expect(page).toMatch(/<svg[^>]*role="img"/);
  });

  it("show storage, and rows per table only when asked", async () => {
    const page = await (
      await request("/admin/dashboard", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain('id="d1-size"');
    expect(page).not.toContain('id="rows-table"');
    const counted = await (
      await request("/admin/dashboard?rows=1", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(counted).toContain('id="rows-table"');
    expect(counted).toMatch(/<th scope="row">owner_sessions<\/th>\s*<td>1<\/td>/);
    const d = await dashboard();
    expect(d.storage.d1Bytes).toBeGreaterThan(0);
  });

  it("is only for the signed-in owner", async () => {
    expect((await request("/admin/api/dashboard")).status).toBe(401);
    const res = await request("/admin/dashboard", { headers: BROWSER, redirect: "manual" });
    expect(res.status).toBe(303);
  });
});

describe("dead letters", () => {
  async function deadLetter(kind: "delivery" | "inbox", payload: unknown) {
    const id = newId();
    await testCtx()
      .db.insert(deadLetters)
      .values({
        id,
        kind,
        target: "https://x.example/inbox",
        payload: JSON.stringify(payload),
        error: "HTTP 500",
        attempts: 8,
      });
    return id;
  }

  it("are retried: sent back to their queue as a fresh message, then gone", async () => {
    const id = await deadLetter("delivery", {
      inbox: "https://x.example/inbox",
      body: '{"type":"Create"}',
      signer: "owner",
      spent: 7,
      since: "2026-11-01T00:00:00.000Z",
    });
    const send = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const page = await (
      await request("/admin/dashboard", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain(`action="/admin/dead-letters/${id}/retry"`);
    const res = await form(`/admin/dead-letters/${id}/retry`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/dashboard?done=retried#dead-h");
    expect(send).toHaveBeenCalledTimes(1);
    const batch = [...(send.mock.calls[0]![0] as Iterable<{ body: Record<string, unknown> }>)];
    expect(batch).toHaveLength(1);
    const sent = batch[0]!.body;
    expect(sent).toMatchObject({ inbox: "https://x.example/inbox", signer: "owner" });
    expect(sent.spent).toBeUndefined();
    expect(Date.parse(String(sent.since))).toBeGreaterThan(Date.now() - 60_000);
    expect(await rows("SELECT id FROM dead_letters")).toHaveLength(0);
  });

  it("are discarded, by the form and by JSON; a missing one is 404 and a broken payload 422", async () => {
    const a = await deadLetter("inbox", { nope: true });
    const b = await deadLetter("inbox", { nope: true });
    expect((await form(`/admin/dead-letters/${a}/retry`)).status).toBe(422);
    expect(await rows("SELECT id FROM dead_letters")).toHaveLength(2);
    expect((await form(`/admin/dead-letters/${a}/discard`)).status).toBe(303);
    const res = await request(`/admin/api/dead-letters/${b}`, {
      method: "DELETE",
      headers: { cookie: session.cookie, "x-csrf-token": session.csrf, origin: BASE },
    });
    expect(res.status).toBe(200);
    expect(await rows("SELECT id FROM dead_letters")).toHaveLength(0);
    expect((await form(`/admin/dead-letters/${a}/discard`)).status).toBe(404);
    expect((await form(`/admin/dead-letters/not-an-id/discard`)).status).toBe(404);
  });

  it("need the CSRF token to be retried or discarded", async () => {
    const id = await deadLetter("inbox", { nope: true });
    const res = await request(`/admin/dead-letters/${id}/discard`, {
      method: "POST",
      headers: { ...BROWSER, ...FORM, origin: BASE, cookie: session.cookie },
      body: "csrf=wrong",
      redirect: "manual",
    });
    expect(res.status).toBe(403);
    expect(await rows("SELECT id FROM dead_letters")).toHaveLength(1);
  });
});
