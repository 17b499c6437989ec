import { describe, expect, it } from "vitest";
import Ajv2020 from "ajv/dist/2020";
import { deleteNote } from "../../worker/services/post-delete";
import { publishNote } from "../../worker/services/post-publish";
import { testCtx } from "../helpers/app";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import schema from "../fixtures/mastodon-openapi/schema.json";

/** Validates a body against the 200 response schema of a path in Mastodon's OpenAPI document. */
function expectPathResponse(path: string, body: unknown) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const op = (schema as any).paths[path].get.responses["200"].content["application/json"].schema;
  const validate = ajv.compile(op);
  expect(validate(body) ? [] : validate.errors).toEqual([]);
}

describe("instance surface", () => {
  it("lists the domains of stored remote accounts as peers", async () => {
    await remoteAccount("a", "one.example");
    await remoteAccount("b", "one.example");
    await remoteAccount("c", "two.example");
    const res = await api("GET", "/api/v1/instance/peers");
    expect(res.status).toBe(200);
    expectPathResponse("/api/v1/instance/peers", res.body);
    expect(res.body).toEqual(["one.example", "two.example"]);
  });

  it("reports twelve weeks of activity with this week's posts and login", async () => {
    await userToken();
    const res = await api("GET", "/api/v1/instance/activity");
    expect(res.status).toBe(200);
    expectPathResponse("/api/v1/instance/activity", res.body);
    expect(res.body).toHaveLength(12);
    const [thisWeek, lastWeek] = res.body;
    expect(Number(thisWeek.week)).toBeLessThanOrEqual(Date.now() / 1000);
    expect(Number(thisWeek.week)).toBeGreaterThan(Date.now() / 1000 - 7 * 86400);
    expect(new Date(Number(thisWeek.week) * 1000).getUTCDay()).toBe(1);
    expect(Number(thisWeek.week) - Number(lastWeek.week)).toBe(7 * 86400);
    expect(thisWeek.logins).toBe("1");
    expect(lastWeek.logins).toBe("0");
    expect(thisWeek.registrations).toBe("0");
    for (const w of res.body) expect(w.statuses).toMatch(/^\d+$/);
  });

  it("counts the owner's posts of the week, not deleted ones, not remote ones", async () => {
    const ctx = testCtx();
    await publishNote(ctx, { text: "one", visibility: "public" });
    await publishNote(ctx, { text: "two", visibility: "private" });
    const gone = await publishNote(ctx, { text: "three", visibility: "public" });
    await deleteNote(ctx, gone.id);
    await remoteStatus(await remoteAccount("bob"), { content: "<p>remote</p>" });
    const res = await api("GET", "/api/v1/instance/activity");
    expect(res.body[0].statuses).toBe("2");
    expect(res.body[1].statuses).toBe("0");
  });

  it("answers rules, domain blocks, languages and translation languages", async () => {
    const rules = await api("GET", "/api/v1/instance/rules");
    expect(rules.body).toEqual([]);
    for (const r of rules.body) expectEntity("Rule", r);
    const blocks = await api("GET", "/api/v1/instance/domain_blocks");
    expect(blocks.body).toEqual([]);
    for (const b of blocks.body) expectEntity("DomainBlock", b);
    const languages = await api("GET", "/api/v1/instance/languages");
    expect(languages.status).toBe(200);
    expect(languages.body).toContainEqual({ code: "en", name: "English" });
    expect(languages.body.length).toBeGreaterThan(150);
    for (const l of languages.body)
      expect(l).toEqual({ code: expect.stringMatching(/^[a-z]{2}$/), name: expect.any(String) });
    const translation = await api("GET", "/api/v1/instance/translation_languages");
    expect(translation.body).toEqual({});
  });

  it("has an extended description but no privacy policy or terms of service", async () => {
    const desc = await api("GET", "/api/v1/instance/extended_description");
    expect(desc.status).toBe(200);
    expectEntity("ExtendedDescription", desc.body);
    expect(desc.body.content).toContain("@alice@example.com");
    for (const path of [
      "/api/v1/instance/privacy_policy",
      "/api/v1/instance/terms_of_service",
      "/api/v1/instance/terms_of_service/2025-01-01",
    ]) {
      const res = await api("GET", path);
      expect(res.status, path).toBe(404);
      expectEntity("Error", res.body);
    }
  });
});
