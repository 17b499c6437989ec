import { beforeEach, describe, expect, it } from "vitest";
import { presentStatuses } from "../../worker/api/entities/status";
import { testCtx } from "../helpers/app";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

describe("filters v2", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken();
  });

  it("creates a filter with keywords in one request, shows, lists, updates and deletes it", async () => {
    const created = await api("POST", "/api/v2/filters", token, {
      title: "Spoilers",
      context: ["home", "public"],
      filter_action: "hide",
      expires_in: 3600,
      keywords_attributes: [{ keyword: "finale", whole_word: false }, { keyword: "ending" }],
    });
    expect(created.status).toBe(200);
    expectEntity("Filter", created.body);
    for (const k of created.body.keywords) expectEntity("FilterKeyword", k);
    expect(created.body).toMatchObject({
      title: "Spoilers",
      context: ["home", "public"],
      filter_action: "hide",
    });
    expect(Date.parse(created.body.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    expect(
      created.body.keywords.map((k: { keyword: string; whole_word: boolean }) => [k.keyword, k.whole_word]),
    ).toEqual([
      ["finale", false],
      ["ending", true],
    ]);

    const shown = await api("GET", `/api/v2/filters/${created.body.id}`, token);
    expectEntity("Filter", shown.body);
    expect(shown.body).toEqual(created.body);

    const [finale, ending] = created.body.keywords;
    const updated = await api("PUT", `/api/v2/filters/${created.body.id}`, token, {
      title: "TV",
      filter_action: "blur",
      expires_in: "",
      keywords_attributes: [
        { id: finale.id, keyword: "season finale" },
        { id: ending.id, _destroy: true },
        { keyword: "cliffhanger" },
      ],
    });
    expect(updated.status).toBe(200);
    expectEntity("Filter", updated.body);
    expect(updated.body).toMatchObject({
      title: "TV",
      filter_action: "blur",
      expires_at: null,
      context: ["home", "public"],
    });
    expect(updated.body.keywords.map((k: { keyword: string }) => k.keyword).sort()).toEqual([
      "cliffhanger",
      "season finale",
    ]);

    const all = await api("GET", "/api/v2/filters", token);
    expect(all.body).toHaveLength(1);
    for (const f of all.body) expectEntity("Filter", f);

    const deleted = await api("DELETE", `/api/v2/filters/${created.body.id}`, token);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    expect((await api("GET", `/api/v2/filters/${created.body.id}`, token)).status).toBe(404);
    expect(await rows("SELECT * FROM filter_keywords")).toHaveLength(0);
  });

  it("accepts form parameters in Rails bracket notation", async () => {
    const form = new URLSearchParams();
    form.append("title", "Form");
    form.append("context[]", "notifications");
    form.append("context[]", "thread");
    form.append("keywords_attributes[0][keyword]", "x");
    form.append("keywords_attributes[0][whole_word]", "0");
    const res = await api("POST", "/api/v2/filters", token, form);
    expect(res.status).toBe(200);
    expectEntity("Filter", res.body);
    expect(res.body.context).toEqual(["notifications", "thread"]);
    expect(res.body.filter_action).toBe("warn");
    expect(res.body.keywords[0]).toMatchObject({ keyword: "x", whole_word: false });
  });

  it("reads keywords_attributes[][keyword] form notation as Rails does", async () => {
    const form = new URLSearchParams();
    form.append("title", "Rails");
    form.append("context[]", "home");
    form.append("keywords_attributes[][keyword]", "one");
    form.append("keywords_attributes[][whole_word]", "false");
    form.append("keywords_attributes[][keyword]", "two");
    const res = await api("POST", "/api/v2/filters", token, form);
    expect(res.status).toBe(200);
    expectEntity("Filter", res.body);
    expect(
      res.body.keywords.map((k: { keyword: string; whole_word: boolean }) => [k.keyword, k.whole_word]),
    ).toEqual([
      ["one", false],
      ["two", true],
    ]);
    const update = new URLSearchParams();
    update.append("keywords_attributes[][id]", res.body.keywords[0].id);
    update.append("keywords_attributes[][_destroy]", "1");
    const updated = await api("PUT", `/api/v2/filters/${res.body.id}`, token, update);
    expectEntity("Filter", updated.body);
    expect(updated.body.keywords.map((k: { keyword: string }) => k.keyword)).toEqual(["two"]);
  });

  it("refuses invalid filters with 422 and writes nothing", async () => {
    const cases = [
      { context: ["home"] },
      { title: "t" },
      { title: "t", context: ["everywhere"] },
      { title: "t", context: ["home"], filter_action: "delete" },
      { title: "t", context: ["home"], expires_in: "soon" },
      { title: "t", context: ["home"], keywords_attributes: [{ keyword: "ok" }, { keyword: "  " }] },
    ];
    for (const body of cases) {
      const res = await api("POST", "/api/v2/filters", token, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectEntity("Error", res.body);
    }
    expect(await rows("SELECT * FROM filters")).toHaveLength(0);
    expect(await rows("SELECT * FROM filter_keywords")).toHaveLength(0);

    const f = (await api("POST", "/api/v2/filters", token, { title: "t", context: ["home"] })).body;
    const other = (
      await api("POST", "/api/v2/filters", token, {
        title: "o",
        context: ["home"],
        keywords_attributes: [{ keyword: "k" }],
      })
    ).body;
    // A keyword id of another filter is unknown here.
    const foreign = await api("PUT", `/api/v2/filters/${f.id}`, token, {
      title: "changed",
      keywords_attributes: [{ id: other.keywords[0].id, keyword: "stolen" }],
    });
    expect(foreign.status).toBe(404);
    expect((await api("GET", `/api/v2/filters/${f.id}`, token)).body.title).toBe("t");
  });

  it("manages keywords through their own endpoints", async () => {
    const f = (await api("POST", "/api/v2/filters", token, { title: "t", context: ["home"] })).body;
    const added = await api("POST", `/api/v2/filters/${f.id}/keywords`, token, {
      keyword: "cat",
      whole_word: false,
    });
    expect(added.status).toBe(200);
    expectEntity("FilterKeyword", added.body);
    expect(added.body).toMatchObject({ keyword: "cat", whole_word: false });

    const listed = await api("GET", `/api/v2/filters/${f.id}/keywords`, token);
    expect(listed.body).toHaveLength(1);
    for (const k of listed.body) expectEntity("FilterKeyword", k);

    const shown = await api("GET", `/api/v2/filters/keywords/${added.body.id}`, token);
    expectEntity("FilterKeyword", shown.body);
    const updated = await api("PUT", `/api/v2/filters/keywords/${added.body.id}`, token, {
      whole_word: true,
    });
    expectEntity("FilterKeyword", updated.body);
    expect(updated.body).toMatchObject({ keyword: "cat", whole_word: true });

    expect((await api("POST", `/api/v2/filters/${f.id}/keywords`, token, { keyword: "" })).status).toBe(422);
    expect((await api("POST", `/api/v2/filters/999/keywords`, token, { keyword: "dog" })).status).toBe(404);

    expect((await api("DELETE", `/api/v2/filters/keywords/${added.body.id}`, token)).body).toEqual({});
    expect((await api("GET", `/api/v2/filters/keywords/${added.body.id}`, token)).status).toBe(404);
    expect(
      (await api("PUT", `/api/v2/filters/keywords/${added.body.id}`, token, { keyword: "x" })).status,
    ).toBe(404);
  });

  it("manages filtered statuses", async () => {
    const author = await remoteAccount("bob");
    const status = await remoteStatus(author, { content: "<p>hi</p>" });
    const f = (await api("POST", "/api/v2/filters", token, { title: "t", context: ["home"] })).body;
    const added = await api("POST", `/api/v2/filters/${f.id}/statuses`, token, { status_id: status.id });
    expect(added.status).toBe(200);
    expectEntity("FilterStatus", added.body);
    expect(added.body.status_id).toBe(status.id);

    const again = await api("POST", `/api/v2/filters/${f.id}/statuses`, token, { status_id: status.id });
    expect(again.status).toBe(422);
    const unknown = await api("POST", `/api/v2/filters/${f.id}/statuses`, token, { status_id: "12345" });
    expect(unknown.status).toBe(422);
    expect((await api("POST", `/api/v2/filters/${f.id}/statuses`, token, {})).status).toBe(422);

    const listed = await api("GET", `/api/v2/filters/${f.id}/statuses`, token);
    expect(listed.body).toHaveLength(1);
    for (const s of listed.body) expectEntity("FilterStatus", s);
    const shown = await api("GET", `/api/v2/filters/statuses/${added.body.id}`, token);
    expectEntity("FilterStatus", shown.body);
    const withStatus = await api("GET", `/api/v2/filters/${f.id}`, token);
    expectEntity("Filter", withStatus.body);
    expect(withStatus.body.statuses).toEqual([added.body]);

    expect((await api("DELETE", `/api/v2/filters/statuses/${added.body.id}`, token)).body).toEqual({});
    expect((await api("GET", `/api/v2/filters/statuses/${added.body.id}`, token)).status).toBe(404);
  });

  it("needs read:filters / write:filters", async () => {
    expect((await api("GET", "/api/v2/filters")).status).toBe(401);
    const readOnly = await userToken("read:filters");
    expect((await api("GET", "/api/v2/filters", readOnly)).status).toBe(200);
    expect((await api("GET", "/api/v1/filters", readOnly)).status).toBe(200);
    expect((await api("POST", "/api/v2/filters", readOnly, { title: "t", context: ["home"] })).status).toBe(
      403,
    );
    expect((await api("POST", "/api/v1/filters", readOnly, { phrase: "t", context: ["home"] })).status).toBe(
      403,
    );
  });

  it("applies to statuses presented in a matching context", async () => {
    await api("POST", "/api/v2/filters", token, {
      title: "Cats",
      context: ["home"],
      keywords_attributes: [{ keyword: "cat" }],
    });
    const author = await remoteAccount("bob");
    const cat = await remoteStatus(author, { content: "<p>My cat is asleep</p>" });
    const concat = await remoteStatus(author, { content: "<p>concatenate strings</p>" });
    const ctx = testCtx();
    const [a, b] = await presentStatuses(ctx, [cat, concat], { filterContext: "home" });
    expectEntity("Status", a);
    expectEntity("Status", b);
    expect((a!.filtered as { keyword_matches: string[] }[])[0]!.keyword_matches).toEqual(["cat"]);
    expect(b!.filtered).toEqual([]);
    const [elsewhere] = await presentStatuses(ctx, [cat], { filterContext: "public" });
    expect(elsewhere!.filtered).toEqual([]);

    // A hiding filter leaves the status out altogether.
    const hide = await api("POST", "/api/v2/filters", token, {
      title: "Hide",
      context: ["public"],
      filter_action: "hide",
      keywords_attributes: [{ keyword: "asleep" }],
    });
    expect(hide.status).toBe(200);
    const shown = await presentStatuses(ctx, [cat, concat], { filterContext: "public" });
    expect(shown.map((s) => s.id)).toEqual([concat.id]);
  });
});

describe("filters v1", () => {
  let token: string;
  beforeEach(async () => {
    token = await userToken();
  });

  it("maps each keyword to a V1Filter and back onto v2", async () => {
    const created = await api("POST", "/api/v1/filters", token, {
      phrase: "politics",
      context: ["home", "notifications"],
      irreversible: true,
      whole_word: false,
    });
    expect(created.status).toBe(200);
    expectEntity("V1Filter", created.body);
    expect(created.body).toMatchObject({
      phrase: "politics",
      context: ["home", "notifications"],
      irreversible: true,
      whole_word: false,
      expires_at: null,
    });
    const v2 = (await api("GET", "/api/v2/filters", token)).body;
    expect(v2).toHaveLength(1);
    expect(v2[0]).toMatchObject({ title: "politics", filter_action: "hide" });
    expect(v2[0].keywords[0].id).toBe(created.body.id);

    const shown = await api("GET", `/api/v1/filters/${created.body.id}`, token);
    expectEntity("V1Filter", shown.body);
    expect(shown.body).toEqual(created.body);

    const updated = await api("PUT", `/api/v1/filters/${created.body.id}`, token, {
      phrase: "elections",
      context: ["public"],
      irreversible: false,
      expires_in: 1800,
    });
    expect(updated.status).toBe(200);
    expectEntity("V1Filter", updated.body);
    expect(updated.body).toMatchObject({ phrase: "elections", context: ["public"], irreversible: false });
    expect(updated.body.expires_at).not.toBeNull();

    // A second keyword on the v2 filter: the shared fields can no longer change through v1.
    await api("POST", `/api/v2/filters/${v2[0].id}/keywords`, token, { keyword: "votes" });
    const list = await api("GET", "/api/v1/filters", token);
    expect(list.body).toHaveLength(2);
    for (const f of list.body) expectEntity("V1Filter", f);
    const refused = await api("PUT", `/api/v1/filters/${created.body.id}`, token, { context: ["home"] });
    expect(refused.status).toBe(422);
    expectEntity("Error", refused.body);
    const keywordOnly = await api("PUT", `/api/v1/filters/${created.body.id}`, token, { whole_word: true });
    expect(keywordOnly.status).toBe(200);
    expect(keywordOnly.body.whole_word).toBe(true);

    expect((await api("DELETE", `/api/v1/filters/${created.body.id}`, token)).body).toEqual({});
    expect((await api("GET", `/api/v1/filters/${created.body.id}`, token)).status).toBe(404);
    expect((await api("GET", "/api/v1/filters", token)).body).toHaveLength(1);
    expect((await api("GET", "/api/v2/filters", token)).body).toHaveLength(1);
  });

  it("refuses a v1 filter without phrase or context", async () => {
    expect((await api("POST", "/api/v1/filters", token, { context: ["home"] })).status).toBe(422);
    expect((await api("POST", "/api/v1/filters", token, { phrase: "x" })).status).toBe(422);
    expect((await api("POST", "/api/v1/filters", token, { phrase: "x", context: ["nowhere"] })).status).toBe(
      422,
    );
    expect(await rows("SELECT * FROM filters")).toHaveLength(0);
    expect((await api("GET", "/api/v1/filters/42", token)).status).toBe(404);
    expect((await api("DELETE", "/api/v1/filters/42", token)).status).toBe(404);
  });
});
