/**
 * The "Export my archive" section of /admin/archive: the start form (owner session and CSRF), the
 * progress, and the download route, which streams the archive to the owner only.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { currentExports } from "../../worker/services/archive-export/jobs";
import { runExportChunk } from "../../worker/services/archive-export/run";
import { publishNote } from "../../worker/services/post-publish";
import { BASE, request, testCtx } from "../helpers/app";
import { BROWSER, FORM, hiddenFields, signIn } from "./owner-session";

let session: { cookie: string; csrf: string };
beforeEach(async () => {
  session = await signIn();
  vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
});
afterEach(() => vi.restoreAllMocks());

function start(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return request("/admin/archive/export", {
    method: "POST",
    headers: { ...BROWSER, ...FORM, cookie: session.cookie, origin: BASE, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

async function page() {
  const res = await request("/admin/archive", { headers: { ...BROWSER, cookie: session.cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

describe("exporting from the owner's page", () => {
  it("starts from the page's form, shows progress, and offers the archive for download", async () => {
    await publishNote(testCtx(), { text: "hello", visibility: "public" });
    const html = await page();
    expect(html).toContain("Export my archive");
    const fields = hiddenFields(html.slice(html.indexOf('id="export"')));
    expect(fields.csrf).toBe(session.csrf);

    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    const res = await start(fields);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/archive#export");
    const { latest } = await currentExports(testCtx());
    expect(latest?.state).toBe("queued");
    expect(send).toHaveBeenCalledWith(
      { v: 1, kind: "export", exportId: latest!.id },
      { contentType: "json" },
    );

    // A second start while one is under way starts nothing.
    send.mockClear();
    expect((await start(fields)).status).toBe(303);
    expect(send).not.toHaveBeenCalled();
    const running = await page();
    expect(running).toMatch(/data-running/);
    expect(running).not.toContain('action="/admin/archive/export"');
    // Not done yet: nothing to download.
    const early = await request(`/admin/archive/export/${latest!.id}/archive.zip`, {
      headers: { cookie: session.cookie },
    });
    expect(early.status).toBe(404);

    while ((await runExportChunk(testCtx(), latest!.id)) === "more");
    const done = await page();
    const link = `/admin/archive/export/${latest!.id}/archive.zip`;
    expect(done).toContain(`href="${link}"`);
    expect(done).toContain("Export again");

    const download = await request(link, { headers: { cookie: session.cookie } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/zip");
    expect(download.headers.get("content-disposition")).toMatch(
      /^attachment; filename="perch-archive-\d{4}-\d{2}-\d{2}\.zip"$/,
    );
    const bytes = new Uint8Array(await download.arrayBuffer());
    const stored = await env.MEDIA.get(latest!.key);
    expect(bytes).toEqual(new Uint8Array(await stored!.arrayBuffer()));
    expect(download.headers.get("cache-control")).toMatch(/no-store|private/);

    const api = await request("/admin/api/archive/export", { headers: { cookie: session.cookie } });
    expect(await api.json()).toMatchObject({
      latest: { id: latest!.id, state: "done", statusesDone: 1 },
      download: { url: link, size: bytes.length },
    });
  });

  it("refuses a start without the CSRF token or from another site", async () => {
    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    expect((await start({})).status).toBe(403);
    expect((await start({ csrf: "wrong" })).status).toBe(403);
    expect((await start({ csrf: session.csrf }, { origin: "https://evil.example" })).status).toBe(403);
    expect(send).not.toHaveBeenCalled();
    expect((await currentExports(testCtx())).latest).toBeUndefined();
  });

  it("serves the archive to the owner only", async () => {
    await publishNote(testCtx(), { text: "hello", visibility: "public" });
    await start({ csrf: session.csrf });
    const { latest } = await currentExports(testCtx());
    while ((await runExportChunk(testCtx(), latest!.id)) === "more");
    const link = `/admin/archive/export/${latest!.id}/archive.zip`;

    const anonymous = await request(link, { headers: BROWSER });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toBe(`/login?next=${encodeURIComponent(link)}`);
    const forged = await request(link, { headers: { cookie: "__Host-perch_session=forged" } });
    expect(forged.status).toBe(303);
    expect((await request("/admin/api/archive/export")).status).toBe(401);
    expect((await request("/admin/archive/export", { method: "POST", headers: FORM })).status).toBe(303);

    for (const bad of ["123", "abc", "..%2F..%2Fmedia", latest!.id + "0"]) {
      const res = await request(`/admin/archive/export/${bad}/archive.zip`, {
        headers: { cookie: session.cookie },
      });
      expect(res.status, bad).toBe(404);
    }
  });
});
