/**
 * The archive import page and the JSON routes its script uploads through, driven the way the script
 * drives them: create an upload, send parts (one of them again after a "reload"), complete, and the
 * import queue's message runs the import.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { consumeImport } from "../../worker/queues/import-consumer";
import type { ImportMessage } from "../../worker/queues/messages";
import { resumeImports } from "../../worker/queues/import-consumer";
import { accounts, archiveImports } from "../../worker/db/schema";
import { runImportChunk } from "../../worker/services/archive-import/run";
import { BASE, request, testCtx } from "../helpers/app";
import {
  PNG,
  actorJson,
  create,
  outbox,
  queuedImport,
  tarGzOf,
  zipOf,
} from "../services/archive-import/archive";
import { sha256 } from "../lib/archive/fixtures";
import { BROWSER, signIn } from "./owner-session";

let session: { cookie: string; csrf: string };
beforeEach(async () => {
  session = await signIn();
});
afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;

function call(
  method: string,
  path: string,
  body?: BodyInit,
  type?: string,
  extra: Record<string, string> = {},
) {
  return request(path, {
    method,
    headers: {
      cookie: session.cookie,
      "x-csrf-token": session.csrf,
      origin: BASE,
      ...(type ? { "content-type": type } : {}),
      ...extra,
    },
    body,
  });
}

async function json(res: Response) {
  return (await res.json()) as any;
}

describe("uploading an archive from the owner's page", () => {
  it("uploads in parts, resumes from the parts already sent, and imports once complete", async () => {
    const bytes = await zipOf({
      "outbox.json": outbox([
        create(1),
        create(2, {
          attachment: [{ type: "Document", url: "/system/media_attachments/files/1/a.png", name: "Alt" }],
        }),
      ]),
      "media_attachments/files/1/a.png": PNG,
      "padding.bin": new Uint8Array(10 * MiB + 1000),
    });
    // The test consumes the messages itself (a real send would start a consumer beside it).
    const send = vi.spyOn(env.IMPORT_QUEUE, "send").mockResolvedValue(undefined as never);
    const created = await call(
      "POST",
      "/admin/api/archive/uploads",
      JSON.stringify({ filename: "a.zip", size: bytes.length }),
      "application/json",
    );
    expect(created.status).toBe(201);
    const upload = await json(created);
    expect(upload).toMatchObject({ state: "uploading", partSize: 10 * MiB, partCount: 2, uploaded: [] });

    // A part of the wrong length is refused, and nothing is recorded.
    const short = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/1`,
      bytes.slice(0, 6 * MiB),
      "application/octet-stream",
    );
    expect(short.status).toBe(422);
    expect((await json(short)).error).toMatch(/must be 10485760 bytes/);

    const second = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/2`,
      bytes.slice(10 * MiB),
      "application/octet-stream",
    );
    expect(second.status).toBe(200);
    // Completing early says what is missing.
    const early = await call("POST", `/admin/api/archive/uploads/${upload.id}/complete`);
    expect(early.status).toBe(409);
    expect((await json(early)).error).toBe("Parts still missing: 1");

    // After a reload the page asks what is there, and sends only the rest.
    const state = await json(await call("GET", `/admin/api/archive/uploads/${upload.id}`));
    expect(state.uploaded).toEqual([{ partNumber: 2, size: bytes.length - 10 * MiB }]);
    const first = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/1`,
      bytes.slice(0, 10 * MiB),
      "application/octet-stream",
    );
    expect(first.status).toBe(200);
    const done = await call("POST", `/admin/api/archive/uploads/${upload.id}/complete`);
    expect(done.status).toBe(200);
    expect((await json(done)).state).toBe("queued");
    const stored = await env.MEDIA.get(`imports/${upload.id}.zip`);
    expect(await sha256(new Uint8Array(await stored!.arrayBuffer()))).toBe(await sha256(bytes));
    expect(send).toHaveBeenCalledWith(
      { v: 1, kind: "archive", importId: upload.id },
      { contentType: "json" },
    );

    // The queue's messages run the import: each step sends the next message until the job is done
    // (the outbox in one chunk, then actor.json, likes, bookmarks and the relinks), then none.
    let steps = 0;
    for (let sent = 1; sent > 0 && steps < 20; steps++) {
      send.mockClear();
      const batch = createMessageBatch<ImportMessage>("perch-import", [
        {
          id: `m${steps}`,
          timestamp: new Date(),
          attempts: 1,
          body: { v: 1, kind: "archive", importId: upload.id },
        },
      ]);
      await consumeImport(batch, env);
      sent = send.mock.calls.length;
    }
    expect(steps).toBe(5);
    expect(await env.MEDIA.head(`imports/${upload.id}.zip`)).toBeNull();
    const report = await json(await call("GET", `/admin/api/archive/imports/${upload.id}`));
    expect(report).toMatchObject({
      state: "done",
      posts: { imported: 2 },
      media: { imported: 1, skipped: 0 },
    });

    const page = await request("/admin/archive", { headers: { ...BROWSER, cookie: session.cookie } });
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain("a.zip");
    expect(text).toContain('<script src="/admin/archive/upload.js" defer></script>');
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline'; script");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    const script = await request("/admin/archive/upload.js", { headers: { cookie: session.cookie } });
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("/admin/api/archive/uploads");
  }, 30_000);

  it("refuses the routes without a session, without the CSRF token, and with bodies too large", async () => {
    const anonymous = await request("/admin/api/archive/uploads", { method: "POST", body: "{}" });
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).error).toBe("Sign in first");
    const noCsrf = await request("/admin/api/archive/uploads", {
      method: "POST",
      headers: { cookie: session.cookie, origin: BASE, "content-type": "application/json" },
      body: JSON.stringify({ filename: "a.zip", size: 10 }),
    });
    expect(noCsrf.status).toBe(403);
    const bad = await call(
      "POST",
      "/admin/api/archive/uploads",
      JSON.stringify({ filename: "", size: -1 }),
      "application/json",
    );
    expect(bad.status).toBe(422);
    const upload = await json(
      await call(
        "POST",
        "/admin/api/archive/uploads",
        JSON.stringify({ filename: "a.zip", size: 100 }),
        "application/json",
      ),
    );
    const big = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/1`,
      new Uint8Array(10 * MiB + 1),
      "application/octet-stream",
    );
    expect(big.status).toBe(413);
    const outOfRange = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/2`,
      new Uint8Array(100),
      "application/octet-stream",
    );
    expect(outOfRange.status).toBe(400);
    const missing = await call("GET", "/admin/api/archive/imports/123");
    expect(missing.status).toBe(404);
  });

  it("has the cron resume an import whose message was lost", async () => {
    const created = await json(
      await call(
        "POST",
        "/admin/api/archive/uploads",
        JSON.stringify({ filename: "a.zip", size: 100 }),
        "application/json",
      ),
    );
    await testCtx().db.run(
      `UPDATE archive_imports SET state = 'running', updated_at = '2020-01-01T00:00:00.000Z' WHERE id = '${created.id}'` as never,
    );
    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    expect(await resumeImports(testCtx())).toBe(1);
    expect(send).toHaveBeenCalledWith(
      { v: 1, kind: "archive", importId: created.id },
      { contentType: "json" },
    );
  });

  it("takes a .tar.gz by its first bytes, shows its conversion, and refuses what is neither", async () => {
    const hex = (b: Uint8Array) =>
      Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, "0")).join("");
    const create_ = (filename: string, size: number, head?: string) =>
      call(
        "POST",
        "/admin/api/archive/uploads",
        JSON.stringify({ filename, size, head }),
        "application/json",
      );

    // Not by its name: a PNG called archive.zip is refused before any byte is sent.
    const png = await create_("archive.zip", PNG.length, hex(PNG));
    expect(png.status).toBe(422);
    expect((await json(png)).error).toMatch(/neither a \.zip nor a \.tar\.gz/);

    const bytes = await tarGzOf({
      "outbox.json": outbox([
        create(1, { attachment: [{ type: "Document", url: "/system/media_attachments/files/1/a.png" }] }),
      ]),
      "media_attachments/files/1/a.png": PNG,
    });
    const zipLike = await json(await create_("old.zip", bytes.length));
    // An upload started as a ZIP (no first bytes given: an older page) refuses a gzip part 1.
    const mismatch = await call(
      "PUT",
      `/admin/api/archive/uploads/${zipLike.id}/parts/1`,
      bytes,
      "application/octet-stream",
    );
    expect(mismatch.status).toBe(422);
    expect((await json(mismatch)).error).toBe(
      "This file is a tar.gz archive, but its upload was started as a zip one",
    );

    const created = await create_("archive.bin", bytes.length, hex(bytes));
    expect(created.status).toBe(201);
    const upload = await json(created);
    expect(upload.container).toBe("tar.gz");
    const part = await call(
      "PUT",
      `/admin/api/archive/uploads/${upload.id}/parts/1`,
      bytes,
      "application/octet-stream",
    );
    expect(part.status).toBe(200);
    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    expect((await call("POST", `/admin/api/archive/uploads/${upload.id}/complete`)).status).toBe(200);
    expect(await env.MEDIA.head(`imports/${upload.id}.tar.gz`)).not.toBeNull();

    const consume = async () => {
      const batch = createMessageBatch<ImportMessage>("perch-import", [
        { id: "m", timestamp: new Date(), attempts: 1, body: { v: 1, kind: "archive", importId: upload.id } },
      ]);
      send.mockClear();
      await consumeImport(batch, env);
      return send.mock.calls.length > 0;
    };
    expect(await consume()).toBe(true);
    // One chunk in: the conversion is under way, and the page says how far.
    const page = await request("/admin/archive", { headers: { ...BROWSER, cookie: session.cookie } });
    const text = await page.text();
    expect(text).toMatch(/Converting the \.tar\.gz archive before importing it: \d+% \(\d+ of \d+ bytes\)/);
    const during = await json(await call("GET", `/admin/api/archive/imports/${upload.id}`));
    expect(during.conversion).toMatchObject({ total: bytes.length });
    let rounds = 0;
    while ((await consume()) && rounds++ < 50) {}
    const report = await json(await call("GET", `/admin/api/archive/imports/${upload.id}`));
    expect(report).toMatchObject({
      state: "done",
      conversion: null,
      posts: { imported: 1 },
      media: { imported: 1 },
    });
    expect(await env.MEDIA.head(`imports/${upload.id}.tar.gz`)).toBeNull();
  });
});

describe("an import's card: the old profile, the announce option, discarding", () => {
  async function runToEnd(id: string) {
    for (let i = 0; i < 50; i++) {
      const r = await runImportChunk(testCtx(), id);
      if (r !== "more") return r;
    }
    throw new Error("the import did not end");
  }

  const form = (path: string, fields: Record<string, string>, csrf = true) =>
    request(path, {
      method: "POST",
      headers: {
        cookie: session.cookie,
        origin: BASE,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(csrf ? { ...fields, csrf: session.csrf } : fields),
      redirect: "manual",
    });

  it("shows the old profile beside the current one and changes nothing until 'use this profile'", async () => {
    const id = await queuedImport(
      await zipOf({
        "outbox.json": outbox([create(1)]),
        "actor.json": actorJson(),
        "avatar.png": PNG,
        "header.png": PNG,
      }),
    );
    expect(await runToEnd(id)).toBe("done");
    const before = (await testCtx().instance()).owner;
    const page = await (
      await request("/admin/archive", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain("Alice of Old");
    expect(page).toContain(before.displayName);
    expect(page).toContain(`action="/admin/archive/imports/${id}/profile"`);
    expect(page).toContain("Use this profile");
    expect(page).not.toContain("<script>alert(1)</script>");
    // The staged avatar is shown to the owner only.
    const avatar = await request(`/admin/archive/imports/${id}/profile/avatar`, {
      headers: { cookie: session.cookie },
    });
    expect(avatar.status).toBe(200);
    expect(avatar.headers.get("content-type")).toBe("image/png");
    const anonymous = await request(`/admin/archive/imports/${id}/profile/avatar`, { redirect: "manual" });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toMatch(/login/);
    // Nor is anything under imports/ served as public media: not the staged files, not an archive.
    expect((await request(`/media/imports/${id}/avatar.png`)).status).toBe(404);
    const pending = await queuedImport(await zipOf({ "outbox.json": outbox([]) }));
    expect((await request(`/media/imports/${pending}.zip`)).status).toBe(404);

    // Without the CSRF token, nothing changes.
    expect((await form(`/admin/archive/imports/${id}/profile`, { choice: "apply" }, false)).status).toBe(403);
    expect((await testCtx().instance()).owner.displayName).toBe(before.displayName);
    const applied = await form(`/admin/archive/imports/${id}/profile`, { choice: "apply" });
    expect(applied.status).toBe(303);
    const after = (await testCtx().db.select().from(accounts).where(eq(accounts.id, before.id)))[0];
    expect(after?.displayName).toBe("Alice of Old");
    expect(after?.avatarUrl).toMatch(/\/media\/profile\/avatar-\d+\.png$/);
    const again = await form(`/admin/archive/imports/${id}/profile`, { choice: "apply" });
    expect(again.status).toBe(409);
    const bad = await form(`/admin/archive/imports/${id}/profile`, { choice: "maybe" });
    expect(bad.status).toBe(422);
  });

  it("takes the announce option with the upload or from the card, with its warning, and discards a stopped import", async () => {
    const created = await json(
      await call(
        "POST",
        "/admin/api/archive/uploads",
        JSON.stringify({ filename: "a.zip", size: 100, announce: true }),
        "application/json",
      ),
    );
    const row = async (id: string) =>
      (await testCtx().db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0];
    expect((await row(created.id))?.announce).toBe(true);
    expect((await form(`/admin/archive/imports/${created.id}/announce`, { announce: "off" })).status).toBe(
      303,
    );
    expect((await row(created.id))?.announce).toBe(false);

    const id = await queuedImport(await zipOf({ "outbox.json": outbox([create(1)]) }));
    const page = await (
      await request("/admin/archive", { headers: { ...BROWSER, cookie: session.cookie } })
    ).text();
    expect(page).toContain("Your followers will see these old posts");
    expect(page).toContain("Announce them to my followers");
    expect((await form(`/admin/archive/imports/${id}/announce`, { announce: "on" })).status).toBe(303);
    expect((await row(id))?.announce).toBe(true);
    expect((await form(`/admin/archive/imports/${id}/announce`, { announce: "yes" })).status).toBe(422);

    const failed = await queuedImport(await zipOf({ "actor.json": "{}" }));
    expect(await runToEnd(failed)).toBe("failed");
    expect(await env.MEDIA.head(`imports/${failed}.zip`)).not.toBeNull();
    expect((await form(`/admin/archive/imports/${failed}/discard`, {}, false)).status).toBe(403);
    expect((await form(`/admin/archive/imports/${failed}/discard`, {})).status).toBe(303);
    expect(await env.MEDIA.head(`imports/${failed}.zip`)).toBeNull();
    expect((await form(`/admin/archive/imports/${id}/discard`, {})).status).toBe(409);
    const report = await json(await call("GET", `/admin/api/archive/imports/${failed}`));
    expect(report).toMatchObject({ state: "failed" });
    expect(report.archiveDeletedAt).not.toBeNull();
  });
});
