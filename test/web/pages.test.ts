import { describe, expect, it } from "vitest";
import { statuses } from "../../worker/db/schema";
import { publishNote } from "../../worker/services/post-publish";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { AS_JSON, BASE, request, testCtx } from "../helpers/app";

/** What Chromium and Firefox send when a page is opened. */
const BROWSER = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8" };

async function page(path: string, headers: Record<string, string> = BROWSER) {
  const res = await request(path, { headers });
  return { res, text: await res.text() };
}

function expectHtml(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
}

describe("the hashtag page", () => {
  it("lists the public posts with the tag for a browser, the name normalized as the tag timeline does", async () => {
    const bob = await remoteAccount("bob");
    await remoteStatus(bob, { content: "<p>first #Perch post</p>", tags: ["Perch"] });
    await remoteStatus(bob, {
      content: "<p>a quiet #perch post</p>",
      tags: ["perch"],
      visibility: "private",
    });
    await remoteStatus(bob, { content: "<p>untagged</p>" });
    await publishNote(testCtx(), { text: "my #perch post", visibility: "public" });
    const { res, text } = await page("/tags/PERCH");
    expectHtml(res, 200);
    expect(text).toContain("<h1>#perch</h1>");
    expect(text).toContain("first #Perch post");
    expect(text).toContain("<p>my ");
    expect(text).toContain("@bob@remote.example");
    expect(text).not.toContain("a quiet");
    expect(text).not.toContain("untagged");
    // The same posts, in the same order, as the API's tag timeline.
    const api = (await (await request("/api/v1/timelines/tag/PERCH")).json()) as {
      id: string;
      uri: string;
    }[];
    expect(api).toHaveLength(2);
    const rows = await testCtx().db.select().from(statuses);
    const shownOrder = api
      .map((s) => rows.find((r) => r.id === s.id)!)
      .map((r) => (r.local ? `${BASE}/@alice/${r.id}` : (r.url ?? r.uri)));
    const positions = shownOrder.map((link) => text.indexOf(`href="${link}"`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("says so when no post has the tag, and links to older posts when there are more", async () => {
    const empty = await page("/tags/nothinghere");
    expectHtml(empty.res, 200);
    expect(empty.text).toContain("No public posts with #nothinghere yet.");
    const bob = await remoteAccount("bob");
    for (let i = 0; i < 21; i++) await remoteStatus(bob, { content: `<p>post ${i}</p>`, tags: ["many"] });
    const first = await page("/tags/many");
    expect(first.text.match(/<article>/g)).toHaveLength(20);
    const older = /href="([^"]+\?max_id=\d+)"/.exec(first.text)?.[1];
    expect(older).toBeDefined();
    const second = await page(new URL(older!.replace(/&amp;/g, "&")).pathname + new URL(older!).search);
    expect(second.text.match(/<article>/g)).toHaveLength(1);
    expect(second.text).toContain("post 0");
  });

  it("is a 404 page for a name that is no hashtag, as the API's tag routes are", async () => {
    const odd = await page("/tags/%3Cscript%3E");
    expectHtml(odd.res, 404);
    expect(odd.text).not.toContain("<script");
    for (const path of ["/tags/1234", "/tags/%F0%9F%90%A6", "/tags/%25", "/tags/a-b"]) {
      const { res, text } = await page(path);
      expectHtml(res, 404);
      expect(text).toContain("<h1>Not found</h1>");
    }
    expect((await api("GET", "/api/v1/tags/%3Cscript%3E")).status).toBe(404);
  });
});

describe("pages for browsers that find nothing", () => {
  it("an unknown page, post or account is an HTML 404 page", async () => {
    const post = await publishNote(testCtx(), { text: "hi", visibility: "public" });
    for (const path of ["/no/such/page", "/@alice/12345", "/@bob", "/users/bob", "/@alice/12345/x"]) {
      const { res, text } = await page(path);
      expectHtml(res, 404);
      expect(text, path).toContain("<h1>Not found</h1>");
      expect(text).not.toContain("Record not found");
    }
    // A post that exists is still its page.
    expectHtml((await page(`/@alice/${post.id}`)).res, 200);
  });

  it("API, OAuth and ActivityPub requests keep their JSON errors", async () => {
    const cases: [string, Record<string, string>][] = [
      ["/api/v1/statuses/12345", BROWSER],
      ["/api/v2/nothing", BROWSER],
      ["/oauth/nothing", BROWSER],
      ["/.well-known/nothing", BROWSER],
      ["/users/bob", AS_JSON],
      ["/users/alice/statuses/12345", AS_JSON],
      ["/tags/perch", AS_JSON],
      ["/no/such/page", { accept: "application/json" }],
      ["/no/such/page", {}],
      ["/no/such/page", { accept: "*/*" }],
    ];
    for (const [path, headers] of cases) {
      const res = await request(path, { headers });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), `${path} ${JSON.stringify(headers)}`).toMatch(/json/);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
  });
});

describe("anti-framing headers", () => {
  it("every HTML page forbids framing and still allows its inline styles", async () => {
    const post = await publishNote(testCtx(), { text: "framed?", visibility: "public" });
    for (const path of ["/@alice", `/@alice/${post.id}`, "/tags/perch", "/no/such/page"]) {
      const { res, text } = await page(path);
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
      expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(text).toContain("<style>");
    }
  });

  it("a deleted post's page (410) carries them too", async () => {
    const post = await publishNote(testCtx(), { text: "soon gone", visibility: "public" });
    await testCtx().db.update(statuses).set({ deletedAt: new Date().toISOString() });
    const { res } = await page(`/@alice/${post.id}`);
    expectHtml(res, 410);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});
