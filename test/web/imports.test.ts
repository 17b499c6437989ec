import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { d1Usage } from "../../worker/db/metered";
import { importJobs, importRows } from "../../worker/db/schema";
import { BASE, request, testCtx } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { remotePeople, runToEnd } from "../services/imports/helpers";
import { BROWSER, hiddenFields, signIn } from "./owner-session";

let session: { cookie: string; csrf: string };

beforeEach(async () => {
  session = await signIn();
});

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

/** The page's form as a browser sends it: multipart, with the file, from this origin. */
function upload(
  fields: { kind: string; mode?: string; csv: string; csrf?: string | null },
  headers: Record<string, string> = {},
) {
  const form = new FormData();
  if (fields.csrf !== null) form.set("csrf", fields.csrf ?? session.csrf);
  form.set("kind", fields.kind);
  form.set("mode", fields.mode ?? "merge");
  form.set("file", new File([fields.csv], "following_accounts.csv", { type: "text/csv" }));
  const body = new Request(BASE, { method: "POST", body: form });
  return body.arrayBuffer().then((bytes) =>
    request("/admin/imports", {
      method: "POST",
      headers: {
        ...BROWSER,
        origin: BASE,
        cookie: session.cookie,
        "content-type": body.headers.get("content-type") ?? "",
        "content-length": String(bytes.byteLength),
        ...headers,
      },
      body: bytes,
      redirect: "manual",
    }),
  );
}

function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return request(path, {
    method: init.method ?? "GET",
    headers: {
      cookie: session.cookie,
      ...(body === undefined
        ? {}
        : {
            "content-type": "application/json",
            "content-length": String(new TextEncoder().encode(body).length),
          }),
      ...init.headers,
    },
    ...(body === undefined ? {} : { body }),
  });
}

async function storedJobs() {
  const ctx = testCtx();
  return { jobs: await ctx.db.select().from(importJobs), rows: await ctx.db.select().from(importRows) };
}

describe("the import page", { timeout: 30_000 }, () => {
  it("is behind the owner's sign-in, and offers the form with its CSRF token and the exports", async () => {
    const anonymous = await request("/admin/imports", { headers: BROWSER, redirect: "manual" });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toBe("/login?next=%2Fadmin%2Fimports");
    const res = await request("/admin/imports", { headers: { ...BROWSER, cookie: session.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    expect(hiddenFields(text).csrf).toBe(session.csrf);
    expect(text).toContain('enctype="multipart/form-data"');
    expect(text).toContain('<input id="file" type="file" name="file"');
    expect(text).toContain('href="/admin/exports/following_accounts.csv"');
  });

  it("refuses a form without the CSRF token, or from another site, and stores nothing", async () => {
    const csv = "bob@b.example\n";
    const missing = await upload({ kind: "blocking", csv, csrf: null });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain("That form was not sent");
    expect((await upload({ kind: "blocking", csv, csrf: "wrong" })).status).toBe(403);
    expect((await upload({ kind: "blocking", csv }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await storedJobs()).jobs).toEqual([]);
  });

  it("stores an upload and sends the browser to its progress, which shows each failure's reason", async () => {
    mockFetch(await remotePeople(["ann@b.example"]));
    const res = await upload({
      kind: "following",
      csv: "Account address,Show boosts,Notify on new posts,Languages\nann@b.example,true,false,\nghost@b.example,true,false,\n",
    });
    expect(res.status).toBe(303);
    const location = res.headers.get("location") ?? "";
    expect(location).toMatch(/^\/admin\/imports\/\d+$/);
    const id = location.split("/").pop() ?? "";
    const waiting = await request(location, { headers: { ...BROWSER, cookie: session.cookie } });
    expect(waiting.headers.get("refresh")).toBe("10");
    expect(await waiting.text()).toMatch(/<td data-count="pending">2<\/td>/);
    await runToEnd(testCtx(), id);
    const done = await request(location, { headers: { ...BROWSER, cookie: session.cookie } });
    expect(done.headers.get("refresh")).toBeNull();
    const text = await done.text();
    expect(text).toMatch(/<td data-count="done">1<\/td>/);
    expect(text).toMatch(/<td data-count="failed">1<\/td>/);
    expect(text).toContain("ghost@b.example");
    expect(text).toContain(
      "Not found (https://b.example/.well-known/webfinger?resource=acct%3Aghost%40b.example)",
    );
  });

  it("reads a form whose multipart boundary is mixed-case, as Chromium writes it", async () => {
    // Found in Chromium: the boundary was lower-cased with the content type and no longer matched.
    const boundary = "----WebKitFormBoundaryQm7XzLpT9aBcDeF2";
    const part = (name: string, value: string, file?: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: text/csv` : ""}\r\n\r\n${value}\r\n`;
    const body = new TextEncoder().encode(
      part("csrf", session.csrf) +
        part("kind", "domain_blocking") +
        part("mode", "merge") +
        part("file", "spam.example\n", "blocked_domains.csv") +
        `--${boundary}--\r\n`,
    );
    const res = await request("/admin/imports", {
      method: "POST",
      headers: {
        ...BROWSER,
        origin: BASE,
        cookie: session.cookie,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": String(body.byteLength),
      },
      body,
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/admin\/imports\/\d+$/);
    const { jobs, rows } = await storedJobs();
    expect(jobs.map((j) => [j.kind, j.filename])).toEqual([["domain_blocking", "blocked_domains.csv"]]);
    expect(rows.map((r) => r.key)).toEqual(["spam.example"]);
  });

  it("answers a file of another kind with 422 and the reason on the page, storing nothing", async () => {
    const res = await upload({
      kind: "following",
      csv: "Account address,Hide notifications\nbob@b.example,true\n",
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain(
      "This looks like a file of muted accounts (it has a &quot;hide notifications&quot; column), not of follows.",
    );
    expect(await storedJobs()).toEqual({ jobs: [], rows: [] });
  });

  it("refuses a body over 20 MB by its length, before reading it", async () => {
    const res = await upload(
      { kind: "blocking", csv: "bob@b.example\n" },
      { "content-length": String(21 * 1024 * 1024) },
    );
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("The file is larger than 20 MB");
    const json = await api("/admin/api/imports", {
      method: "POST",
      headers: { "x-csrf-token": session.csrf, "content-length": String(21 * 1024 * 1024) },
      body: { kind: "blocking", csv: "bob@b.example\n" },
    });
    expect(json.status).toBe(413);
    expect(await json.json()).toEqual({
      error: "The file is larger than 20 MB, the most Mastodon's formats allow.",
    });
  });
});

describe("the imports as JSON", { timeout: 30_000 }, () => {
  it("take a file, and tell its progress and failures", async () => {
    mockFetch({});
    const created = await api("/admin/api/imports", {
      method: "POST",
      headers: { "x-csrf-token": session.csrf },
      body: { kind: "domain_blocking", mode: "merge", csv: "#domain\nspam.example\nnot a domain\n" },
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string };
    expect(job).toMatchObject({
      kind: "domain_blocking",
      mode: "merge",
      state: "importing",
      total: 2,
      pending: 1,
      failed: 1,
    });
    await runToEnd(testCtx(), job.id);
    const res = await api(`/admin/api/imports/${job.id}`);
    expect(await res.json()).toMatchObject({
      state: "finished",
      done: 1,
      failed: 1,
      pending: 0,
      failures: [{ row: 2, data: { domain: "not a domain" }, reason: "Not a domain name" }],
    });
    expect(((await (await api("/admin/api/imports")).json()) as { imports: unknown[] }).imports).toHaveLength(
      1,
    );
  });

  it("answer Mastodon's error shape: 403 without the token, 422 for a wrong kind or file, 404 for no job", async () => {
    const body = { kind: "blocking", csv: "bob@b.example\n" };
    const forged = await api("/admin/api/imports", { method: "POST", body });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({
      error: "The CSRF token is missing or wrong, or the request came from another site",
    });
    const token = { "x-csrf-token": session.csrf };
    const kind = await api("/admin/api/imports", {
      method: "POST",
      headers: token,
      body: { ...body, kind: "statuses" },
    });
    expect(kind.status).toBe(422);
    expect(await kind.json()).toEqual({ error: "Unknown kind of import: statuses" });
    const wrong = await api("/admin/api/imports", {
      method: "POST",
      headers: token,
      body: { kind: "bookmarks", csv: "bob@b.example\n" },
    });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/^This is not a file of bookmarks/);
    const empty = await api("/admin/api/imports", {
      method: "POST",
      headers: token,
      body: { kind: "blocking", csv: "" },
    });
    expect(empty.status).toBe(422);
    expect((await api("/admin/api/imports/123")).status).toBe(404);
    expect((await storedJobs()).jobs).toEqual([]);
    const anonymous = await request("/admin/api/imports");
    expect(anonymous.status).toBe(401);
  });
});

describe("a large upload", { timeout: 30_000 }, () => {
  it("stores 20,000 rows in a handful of D1 queries, within one request's budget", async () => {
    const csv = Array.from({ length: 20_000 }, (_, i) => `user${i}@host${i % 500}.example`).join("\r\n");
    const before = d1Usage.queries;
    const res = await api("/admin/api/imports", {
      method: "POST",
      headers: { "x-csrf-token": session.csrf },
      body: { kind: "blocking", mode: "merge", csv },
    });
    const queries = d1Usage.queries - before;
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ total: 20_000, pending: 20_000, failed: 0 });
    console.log(`a 20,000-row upload: ${queries} D1 queries`);
    expect(queries).toBeLessThanOrEqual(20);
    const { rows } = await storedJobs();
    expect(rows).toHaveLength(20_000);
    expect(rows.at(-1)).toMatchObject({ seq: 19_999, key: "user19999@host499.example", state: "pending" });
  });
});

describe("the exports", { timeout: 30_000 }, () => {
  it("download as Mastodon names them, for the owner only", async () => {
    const res = await request("/admin/exports/muted_accounts.csv", { headers: { cookie: session.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="muted_accounts.csv"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("Account address,Hide notifications\n");
    const anonymous = await request("/admin/exports/muted_accounts.csv", { redirect: "manual" });
    expect(anonymous.status).toBe(303);
    expect(
      (await request("/admin/exports/passwords.csv", { headers: { cookie: session.cookie } })).status,
    ).toBe(404);
  });
});
