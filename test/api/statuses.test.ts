import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { ACTOR, BASE } from "../helpers/app";
import { restoreFetch, mockFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { follower, uploadedMedia, watchDeliveries } from "./statuses-helpers";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";

let token: string;
beforeEach(async () => {
  token = await userToken();
  mockFetch({});
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const post = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  api("POST", "/api/v1/statuses", token, body, headers);

describe("POST /api/v1/statuses", () => {
  it("posts a public status with linked URL, hashtag and mention, and federates the Create", async () => {
    const bob = await remoteAccount("bob");
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const d = watchDeliveries();
    const res = await post({
      status: "Hi @bob@remote.example see https://example.com/x #Perch",
      language: "en",
    });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body).toMatchObject({
      visibility: "public",
      language: "en",
      account: { username: "alice" },
      mentions: [{ id: bob.id, acct: "bob@remote.example" }],
      tags: [{ name: "Perch", url: `${BASE}/tags/perch` }],
    });
    expect(res.body.content).toContain('class="u-url mention"');
    expect(res.body.content).toContain('href="https://example.com/x"');
    expect(res.body.content).toContain('class="mention hashtag"');
    expect(await rows("SELECT name FROM status_tags WHERE status_id = ?", res.body.id)).toEqual([
      { name: "perch" },
    ]);
    const sent = d.sent();
    expect(sent.map((s) => s.inbox).sort()).toEqual([
      "https://other.example/inbox",
      "https://remote.example/inbox",
    ]);
    expect(sent[0]?.activity).toMatchObject({
      type: "Create",
      actor: ACTOR,
      object: {
        type: "Note",
        to: [PUBLIC],
        cc: [`${ACTOR}/followers`, bob.uri],
        tag: expect.arrayContaining([
          { type: "Mention", href: bob.uri, name: "@bob@remote.example" },
          { type: "Hashtag", href: `${BASE}/tags/Perch`, name: "#Perch" },
        ]),
      },
    });
  });

  it("accepts a form body and leaves an unresolvable mention as plain text", async () => {
    const res = await api(
      "POST",
      "/api/v1/statuses",
      token,
      new URLSearchParams({ status: "hello @ghost@nowhere.example", visibility: "unlisted" }),
    );
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.content).toBe("<p>hello @ghost@nowhere.example</p>");
    expect(res.body.mentions).toEqual([]);
    expect(res.body.visibility).toBe("unlisted");
  });

  it("defaults the visibility to the owner's preference", async () => {
    await rows(`INSERT INTO settings (key, value) VALUES ('preferences', '{"privacy":"private"}')`);
    const res = await post({ status: "quiet" });
    expect(res.status).toBe(200);
    expect(res.body.visibility).toBe("private");
  });

  it("replies to a stored status by id, addressing and threading it", async () => {
    const bob = await remoteAccount("bob");
    const parent = await remoteStatus(bob, { content: "<p>question?</p>" });
    const d = watchDeliveries();
    const res = await post({ status: "@bob@remote.example answer", in_reply_to_id: parent.id });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body).toMatchObject({ in_reply_to_id: parent.id, in_reply_to_account_id: bob.id });
    expect(d.sent()[0]?.activity.object.inReplyTo).toBe(parent.uri);
    const [row] = await rows<{ in_reply_to_uri: string }>(
      "SELECT in_reply_to_uri FROM statuses WHERE id = ?",
      res.body.id,
    );
    expect(row?.in_reply_to_uri).toBe(parent.uri);
  });

  it("attaches the owner's unattached media", async () => {
    const m = await uploadedMedia({ focus: { x: 0.5, y: -0.2 } });
    const d = watchDeliveries();
    const res = await post({ status: "", media_ids: [m.id], sensitive: true });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.sensitive).toBe(true);
    expect(res.body.media_attachments).toHaveLength(1);
    expectEntity("MediaAttachment", res.body.media_attachments[0]);
    expect(res.body.media_attachments[0]).toMatchObject({ id: m.id, type: "image", description: "a bird" });
    expect(await rows("SELECT status_id FROM media_attachments WHERE id = ?", m.id)).toEqual([
      { status_id: res.body.id },
    ]);
    const [row] = await rows<{ attachments: string }>(
      "SELECT attachments FROM statuses WHERE id = ?",
      res.body.id,
    );
    expect(JSON.parse(row!.attachments)[0]).toMatchObject({
      mediaId: m.id,
      type: "Image",
      mediaType: "image/png",
      url: `${BASE}/media/${m.key}`,
      name: "a bird",
      width: 640,
      height: 480,
      focus: { x: 0.5, y: -0.2 },
    });
    void d;
  });

  it("refuses media that is already attached or unknown (422), writing nothing", async () => {
    const m = await uploadedMedia();
    expect((await post({ status: "one", media_ids: [m.id] })).status).toBe(200);
    const again = await post({ status: "two", media_ids: [m.id] });
    expect(again.status).toBe(422);
    expect(again.body.error).toMatch(/already attached/);
    expect((await post({ status: "three", media_ids: ["123456"] })).status).toBe(422);
    expect(await rows("SELECT id FROM statuses")).toHaveLength(1);
  });

  it("creates a poll and federates a Question", async () => {
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const d = watchDeliveries();
    const res = await post({
      status: "Which?",
      poll: { options: ["a", "b", "c"], expires_in: 3600, multiple: true },
    });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expectEntity("Poll", res.body.poll);
    expect(res.body.poll).toMatchObject({
      id: res.body.id,
      multiple: true,
      expired: false,
      votes_count: 0,
      options: [
        { title: "a", votes_count: 0 },
        { title: "b", votes_count: 0 },
        { title: "c", votes_count: 0 },
      ],
    });
    const object = d.sent()[0]?.activity.object;
    expect(object.type).toBe("Question");
    expect(object.anyOf.map((o: { name: string }) => o.name)).toEqual(["a", "b", "c"]);
    expect(Date.parse(object.endTime)).toBeGreaterThan(Date.now() + 3500_000);
  });

  it("accepts the poll in Rails bracket form notation", async () => {
    const form = new URLSearchParams();
    form.append("status", "form poll");
    form.append("poll[options][]", "yes");
    form.append("poll[options][]", "no");
    form.append("poll[expires_in]", "300");
    const res = await api("POST", "/api/v1/statuses", token, form);
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.poll.multiple).toBe(false);
  });

  it("keeps hide_totals: the owner still sees the counts, the stored poll remembers it", async () => {
    const res = await api("POST", "/api/v1/statuses", token, {
      status: "secret ballot",
      poll: { options: ["yes", "no"], expires_in: 600, hide_totals: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.poll.options).toEqual([
      { title: "yes", votes_count: 0 },
      { title: "no", votes_count: 0 },
    ]);
    const [row] = await rows<{ poll: string }>("SELECT poll FROM statuses WHERE id = ?", res.body.id);
    expect(JSON.parse(row!.poll)).toMatchObject({ hideTotals: true });
  });

  it.each([
    ["blank text", { status: "  " }, /can't be blank/],
    ["text over 5000 characters", { status: "x".repeat(5001) }, /character limit/],
    ["unknown visibility", { status: "x", visibility: "everyone" }, /visibility/],
    ["one poll option", { status: "x", poll: { options: ["a"], expires_in: 600 } }, /at least 2/],
    [
      "five poll options",
      { status: "x", poll: { options: ["a", "b", "c", "d", "e"], expires_in: 600 } },
      /more than 4/,
    ],
    ["a long poll option", { status: "x", poll: { options: ["a", "b".repeat(51)], expires_in: 600 } }, /50/],
    ["a short poll", { status: "x", poll: { options: ["a", "b"], expires_in: 60 } }, /expires_in/],
    ["a long poll", { status: "x", poll: { options: ["a", "b"], expires_in: 2_629_747 } }, /expires_in/],
    ["duplicate poll options", { status: "x", poll: { options: ["a", "a"], expires_in: 600 } }, /unique/],
    [
      "poll and media",
      { status: "x", media_ids: ["1"], poll: { options: ["a", "b"], expires_in: 600 } },
      /poll/,
    ],
    ["more than 4 media", { status: "x", media_ids: ["1", "2", "3", "4", "5"] }, /media_ids/],
    ["a scheduled post", { status: "x", scheduled_at: "2030-01-01T00:00:00Z" }, /scheduled/],
    ["a bad reply id", { status: "x", in_reply_to_id: "abc" }, /in_reply_to_id/],
    ["a direct post to nobody", { status: "x", visibility: "direct" }, /mentioned/],
  ])("refuses %s with 422", async (_name, body, message) => {
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(message);
    expect(await rows("SELECT id FROM statuses")).toHaveLength(0);
  });

  it("counts a URL as 23 characters toward the limit", async () => {
    const res = await post({ status: `${"x".repeat(4970)} https://example.com/${"y".repeat(200)}` });
    expect(res.status).toBe(200);
  });

  it("answers 404 for a reply to an unknown status", async () => {
    const res = await post({ status: "x", in_reply_to_id: "99999999" });
    expect(res.status).toBe(404);
  });

  it("returns the same status for a retried Idempotency-Key", async () => {
    const d = watchDeliveries();
    const first = await post({ status: "once" }, { "Idempotency-Key": "abc-123" });
    const second = await post({ status: "once" }, { "Idempotency-Key": "abc-123" });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expectEntity("Status", second.body);
    expect(second.body.id).toBe(first.body.id);
    expect(await rows("SELECT id FROM statuses")).toHaveLength(1);
    const third = await post({ status: "once" }, { "Idempotency-Key": "other" });
    expect(third.body.id).not.toBe(first.body.id);
    void d;
  });

  it("forgets an Idempotency-Key after an hour, and one whose status was deleted", async () => {
    const first = await post({ status: "a" }, { "Idempotency-Key": "k1" });
    await rows("UPDATE idempotency_keys SET created_at = ?", new Date(Date.now() - 3_700_000).toISOString());
    const later = await post({ status: "a" }, { "Idempotency-Key": "k1" });
    expect(later.status).toBe(200);
    expect(later.body.id).not.toBe(first.body.id);
    await api("DELETE", `/api/v1/statuses/${later.body.id}`, token);
    const again = await post({ status: "a" }, { "Idempotency-Key": "k1" });
    expect(again.status).toBe(200);
    expectEntity("Status", again.body);
    expect(again.body.id).not.toBe(later.body.id);
  });

  it("records a direct status in its conversation", async () => {
    await remoteAccount("bob");
    const res = await post({ status: "@bob@remote.example psst", visibility: "direct" });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(await rows("SELECT last_status_id, unread FROM conversations")).toEqual([
      { last_status_id: res.body.id, unread: 0 },
    ]);
  });

  it("needs a token (401) with write:statuses (403)", async () => {
    expect((await api("POST", "/api/v1/statuses", undefined, { status: "x" })).status).toBe(401);
    const read = await userToken("read");
    const res = await api("POST", "/api/v1/statuses", read, { status: "x" });
    expect(res.status).toBe(403);
    expect(
      (await api("POST", "/api/v1/statuses", await userToken("write:statuses"), { status: "x" })).status,
    ).toBe(200);
  });
});

describe("GET /api/v1/statuses/:id", () => {
  it("shows a public status without a token and a private one only with the owner's token", async () => {
    const pub = await post({ status: "public" });
    const priv = await post({ status: "private", visibility: "private" });
    const anon = await api("GET", `/api/v1/statuses/${pub.body.id}`);
    expect(anon.status).toBe(200);
    expectEntity("Status", anon.body);
    expect(anon.body.content).toBe("<p>public</p>");
    expect((await api("GET", `/api/v1/statuses/${priv.body.id}`)).status).toBe(404);
    const mine = await api("GET", `/api/v1/statuses/${priv.body.id}`, token);
    expect(mine.status).toBe(200);
    expectEntity("Status", mine.body);
  });

  it("answers 404 for unknown, malformed and deleted ids, and 401 for a bad token", async () => {
    expect((await api("GET", "/api/v1/statuses/12345")).status).toBe(404);
    expect((await api("GET", "/api/v1/statuses/abc")).status).toBe(404);
    const s = await post({ status: "gone soon" });
    await api("DELETE", `/api/v1/statuses/${s.body.id}`, token);
    expect((await api("GET", `/api/v1/statuses/${s.body.id}`, token)).status).toBe(404);
    expect((await api("GET", `/api/v1/statuses/${s.body.id}`, "nonsense")).status).toBe(401);
  });

  it("lists several statuses by id[], skipping unknown and invisible ones", async () => {
    const a = await post({ status: "a" });
    const b = await post({ status: "b", visibility: "private" });
    const res = await api("GET", `/api/v1/statuses?id[]=${b.body.id}&id[]=${a.body.id}&id[]=777`);
    expect(res.status).toBe(200);
    expect(res.body.map((s: { id: string }) => s.id)).toEqual([a.body.id]);
    const mine = await api("GET", `/api/v1/statuses?id[]=${b.body.id}&id[]=${a.body.id}`, token);
    for (const s of mine.body) expectEntity("Status", s);
    expect(mine.body.map((s: { id: string }) => s.id)).toEqual([b.body.id, a.body.id]);
  });
});

describe("DELETE /api/v1/statuses/:id", () => {
  it("returns the status with its source text, frees its media and federates a Delete", async () => {
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const m = await uploadedMedia();
    const s = await post({ status: "oops #tag", media_ids: [m.id] });
    const d = watchDeliveries();
    const res = await api("DELETE", `/api/v1/statuses/${s.body.id}`, token);
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.text).toBe("oops #tag");
    expect(res.body.media_attachments[0].id).toBe(m.id);
    expect(d.sent()[0]?.activity).toMatchObject({
      type: "Delete",
      object: { id: s.body.uri, type: "Tombstone" },
    });
    expect(await rows("SELECT status_id FROM media_attachments")).toEqual([{ status_id: null }]);
    expect(await rows("SELECT * FROM status_tags")).toEqual([]);
    // Delete and redraft: the media can be posted again.
    expect((await post({ status: "fixed", media_ids: [m.id] })).status).toBe(200);
  });

  it("does not find others' statuses (404) nor unknown ones, and needs write:statuses", async () => {
    const bob = await remoteAccount("bob");
    const theirs = await remoteStatus(bob);
    expect((await api("DELETE", `/api/v1/statuses/${theirs.id}`, token)).status).toBe(404);
    expect((await api("DELETE", "/api/v1/statuses/424242", token)).status).toBe(404);
    expect((await api("DELETE", `/api/v1/statuses/${theirs.id}`, await userToken("read"))).status).toBe(403);
  });
});

describe("editing", () => {
  it("edits text, keeps the history and source, and federates an Update", async () => {
    const s = await post({ status: "first version", spoiler_text: "cw" });
    const d = watchDeliveries();
    const carol = await remoteAccount("carol", "other.example");
    await follower(carol);
    const res = await api("PUT", `/api/v1/statuses/${s.body.id}`, token, {
      status: "second version #edited",
      spoiler_text: "",
      language: "de",
    });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body).toMatchObject({ spoiler_text: "", language: "de", tags: [{ name: "edited" }] });
    expect(res.body.content).toContain("second version");
    expect(res.body.edited_at).toEqual(expect.any(String));
    expect(d.sent()[0]?.activity).toMatchObject({ type: "Update", object: { id: s.body.uri } });

    const history = await api("GET", `/api/v1/statuses/${s.body.id}/history`, token);
    expect(history.status).toBe(200);
    for (const v of history.body) expectEntity("StatusEdit", v);
    expect(history.body.map((v: { content: string }) => v.content)).toEqual([
      "<p>first version</p>",
      res.body.content,
    ]);
    expect(history.body[0].spoiler_text).toBe("cw");

    const source = await api("GET", `/api/v1/statuses/${s.body.id}/source`, token);
    expect(source.status).toBe(200);
    expectEntity("StatusSource", source.body);
    expect(source.body).toEqual({ id: s.body.id, text: "second version #edited", spoiler_text: "" });
  });

  it("changes media descriptions and replaces a poll", async () => {
    const m = await uploadedMedia();
    const s = await post({ status: "pic", media_ids: [m.id] });
    const res = await api("PUT", `/api/v1/statuses/${s.body.id}`, token, {
      status: "pic",
      media_ids: [m.id],
      media_attributes: [{ id: m.id, description: "a better bird", focus: "0.1,0.2" }],
    });
    expect(res.status).toBe(200);
    expectEntity("Status", res.body);
    expect(res.body.media_attachments[0]).toMatchObject({
      description: "a better bird",
      meta: { focus: { x: 0.1, y: 0.2 } },
    });

    const withPoll = await post({ status: "q", poll: { options: ["a", "b"], expires_in: 600 } });
    const edited = await api("PUT", `/api/v1/statuses/${withPoll.body.id}`, token, {
      status: "q",
      poll: { options: ["x", "y", "z"], expires_in: 600 },
    });
    expect(edited.status).toBe(200);
    expectEntity("Status", edited.body);
    expect(edited.body.poll.options.map((o: { title: string }) => o.title)).toEqual(["x", "y", "z"]);
    const history = await api("GET", `/api/v1/statuses/${withPoll.body.id}/history`, token);
    for (const v of history.body) expectEntity("StatusEdit", v);
    expect(history.body[0].poll).toEqual({ options: [{ title: "a" }, { title: "b" }] });
  });

  it("refuses invalid edits (422), others' posts and unknown ones (404)", async () => {
    const s = await post({ status: "x" });
    expect(
      (await api("PUT", `/api/v1/statuses/${s.body.id}`, token, { status: "y".repeat(5001) })).status,
    ).toBe(422);
    const badFocus = await api("PUT", `/api/v1/statuses/${s.body.id}`, token, {
      status: "y",
      media_attributes: [{ id: "1", focus: "5,5" }],
    });
    expect(badFocus.status).toBe(422);
    const bob = await remoteAccount("bob");
    const theirs = await remoteStatus(bob);
    expect((await api("PUT", `/api/v1/statuses/${theirs.id}`, token, { status: "mine" })).status).toBe(404);
    expect((await api("PUT", "/api/v1/statuses/4242", token, { status: "mine" })).status).toBe(404);
    expect((await api("GET", `/api/v1/statuses/${theirs.id}/source`, token)).status).toBe(404);
    expect(await rows("SELECT id FROM status_edits")).toEqual([]);
  });
});

describe("GET /api/v1/statuses/:id/context", () => {
  it("returns visible ancestors oldest first and descendants as a tree", async () => {
    const bob = await remoteAccount("bob");
    const root = await remoteStatus(bob, { content: "<p>root</p>" });
    const mid = await post({ status: "mid", in_reply_to_id: root.id });
    const leaf1 = await remoteStatus(bob, { content: "<p>leaf1</p>", inReplyTo: mid.body.uri });
    const deep = await remoteStatus(bob, { content: "<p>deep</p>", inReplyTo: leaf1.uri });
    const hidden = await remoteStatus(bob, {
      content: "<p>hidden</p>",
      inReplyTo: mid.body.uri,
      visibility: "private",
    });
    const leaf2 = await post({ status: "leaf2", in_reply_to_id: mid.body.id });

    const anon = await api("GET", `/api/v1/statuses/${mid.body.id}/context`);
    expect(anon.status).toBe(200);
    expectEntity("Context", anon.body);
    for (const s of [...anon.body.ancestors, ...anon.body.descendants]) expectEntity("Status", s);
    expect(anon.body.ancestors.map((s: { id: string }) => s.id)).toEqual([root.id]);
    expect(anon.body.descendants.map((s: { id: string }) => s.id)).toEqual([
      leaf1.id,
      deep.id,
      leaf2.body.id,
    ]);

    const mine = await api("GET", `/api/v1/statuses/${mid.body.id}/context`, token);
    expectEntity("Context", mine.body);
    expect(mine.body.descendants.map((s: { id: string }) => s.id)).toContain(hidden.id);

    const fromDeep = await api("GET", `/api/v1/statuses/${deep.id}/context`, token);
    expect(fromDeep.body.ancestors.map((s: { id: string }) => s.id)).toEqual([
      root.id,
      mid.body.id,
      leaf1.id,
    ]);
  });
});
