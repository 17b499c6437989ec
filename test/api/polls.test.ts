import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Account, Status } from "../../worker/db/client";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { ACTOR } from "../helpers/app";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { watchDeliveries } from "./statuses-helpers";

let token: string;
let bob: Account;
beforeEach(async () => {
  token = await userToken();
  mockFetch({});
  bob = await remoteAccount("bob");
});
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

function question(opts: { multiple?: boolean; endTime?: string; visibility?: "public" | "private" } = {}) {
  const choices = [
    { type: "Note", name: "red", replies: { type: "Collection", totalItems: 2 } },
    { type: "Note", name: "green", replies: { type: "Collection", totalItems: 1 } },
    { type: "Note", name: "blue", replies: { type: "Collection", totalItems: 0 } },
  ];
  return remoteStatus(bob, {
    content: "<p>colour?</p>",
    visibility: opts.visibility ?? "public",
    extra: {
      type: "Question",
      [opts.multiple ? "anyOf" : "oneOf"]: choices,
      endTime: opts.endTime ?? new Date(Date.now() + 86_400_000).toISOString(),
      votersCount: 3,
    },
  });
}

const votes = (s: Status, choices: unknown, t = token) =>
  api("POST", `/api/v1/polls/${s.id}/votes`, t, { choices });

describe("GET /api/v1/polls/:id", () => {
  it("shows a remote poll, without a token when public", async () => {
    const s = await question();
    const res = await api("GET", `/api/v1/polls/${s.id}`);
    expect(res.status).toBe(200);
    expectEntity("Poll", res.body);
    expect(res.body).toMatchObject({
      id: s.id,
      multiple: false,
      expired: false,
      votes_count: 3,
      voters_count: 3,
      voted: false,
      own_votes: [],
      options: [
        { title: "red", votes_count: 2 },
        { title: "green", votes_count: 1 },
        { title: "blue", votes_count: 0 },
      ],
    });
  });

  it("answers 404 for a status without a poll, an unknown id, or a private poll without a token", async () => {
    const plain = await remoteStatus(bob);
    expect((await api("GET", `/api/v1/polls/${plain.id}`, token)).status).toBe(404);
    expect((await api("GET", "/api/v1/polls/4242", token)).status).toBe(404);
    const priv = await question({ visibility: "private" });
    expect((await api("GET", `/api/v1/polls/${priv.id}`)).status).toBe(404);
    const mine = await api("GET", `/api/v1/polls/${priv.id}`, token);
    expect(mine.status).toBe(200);
    expectEntity("Poll", mine.body);
  });
});

describe("POST /api/v1/polls/:id/votes", () => {
  it("votes in a remote poll: rows stored, tallies updated, one Create(Note) per choice to the author", async () => {
    const s = await question({ multiple: true });
    const d = watchDeliveries();
    const res = await votes(s, ["0", "2"]);
    expect(res.status).toBe(200);
    expectEntity("Poll", res.body);
    expect(res.body).toMatchObject({ voted: true, own_votes: [0, 2], votes_count: 5, voters_count: 4 });
    expect(res.body.options.map((o: { votes_count: number }) => o.votes_count)).toEqual([3, 1, 1]);
    expect(await rows("SELECT choice FROM poll_votes ORDER BY choice")).toEqual([
      { choice: 0 },
      { choice: 2 },
    ]);
    const sent = d.sent();
    expect(sent).toHaveLength(2);
    expect(sent.map((x) => x.inbox)).toEqual([
      "https://remote.example/inbox",
      "https://remote.example/inbox",
    ]);
    expect(sent.map((x) => x.activity.object.name)).toEqual(["red", "blue"]);
    expect(sent[0]?.activity).toMatchObject({
      type: "Create",
      actor: ACTOR,
      object: { type: "Note", inReplyTo: s.uri, attributedTo: ACTOR, to: [bob.uri] },
    });
    const after = await api("GET", `/api/v1/polls/${s.id}`, token);
    expectEntity("Poll", after.body);
    expect(after.body).toMatchObject({ voted: true, own_votes: [0, 2] });
  });

  it("accepts choices in form notation", async () => {
    const s = await question();
    const res = await api(
      "POST",
      `/api/v1/polls/${s.id}/votes`,
      token,
      new URLSearchParams({ "choices[]": "1" }),
    );
    expect(res.status).toBe(200);
    expectEntity("Poll", res.body);
    expect(res.body.own_votes).toEqual([1]);
  });

  it.each([
    ["a second vote", async (s: Status) => (await votes(s, [0]), [1]), /already voted/],
    ["an out-of-range choice", async () => [3], /not an option/],
    ["two choices in a single-choice poll", async () => [0, 1], /only one choice/],
    ["no choice", async () => [], /choices/],
    ["a non-numeric choice", async () => ["x"], /choices/],
  ])("refuses %s with 422", async (_name, setup, message) => {
    const s = await question();
    const choices = await setup(s);
    const before = (await rows("SELECT * FROM poll_votes")).length;
    const res = await votes(s, choices);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(message);
    expect(await rows("SELECT * FROM poll_votes")).toHaveLength(before);
  });

  it("refuses an expired poll and the owner's own poll (422)", async () => {
    const old = await question({ endTime: new Date(Date.now() - 1000).toISOString() });
    const expired = await votes(old, [0]);
    expect(expired.status).toBe(422);
    expect(expired.body.error).toMatch(/ended/);
    const mine = await api("POST", "/api/v1/statuses", token, {
      status: "mine?",
      poll: { options: ["a", "b"], expires_in: 600 },
    });
    const own = await api("POST", `/api/v1/polls/${mine.body.id}/votes`, token, { choices: [0] });
    expect(own.status).toBe(422);
    expect(own.body.error).toMatch(/own poll/);
    const shown = await api("GET", `/api/v1/polls/${mine.body.id}`, token);
    expectEntity("Poll", shown.body);
    expect(shown.body.voted).toBe(true);
  });

  it("needs write:statuses (403) and a token (401)", async () => {
    const s = await question();
    expect((await votes(s, [0], await userToken("read"))).status).toBe(403);
    expect((await api("POST", `/api/v1/polls/${s.id}/votes`, undefined, { choices: [0] })).status).toBe(401);
  });
});

describe("editing a post with a poll", () => {
  it("accepts the remaining time as a fraction of a second, truncated, as Mastodon does", async () => {
    const created = await api("POST", "/api/v1/statuses", token, {
      status: "which?",
      poll: { options: ["a", "b"], expires_in: 86_400 },
    });
    expect(created.status).toBe(200);
    // What Mastodon's web app sends when the post is edited a little later.
    const edited = await api("PUT", `/api/v1/statuses/${created.body.id}`, token, {
      status: "which one?",
      poll: { options: ["a", "b", "c"], expires_in: 86_376.045 },
    });
    expect(edited.status).toBe(200);
    expectEntity("Status", edited.body);
    expect(edited.body.poll.options.map((o: { title: string }) => o.title)).toEqual(["a", "b", "c"]);
    const left = (Date.parse(edited.body.poll.expires_at) - Date.now()) / 1000;
    expect(left).toBeGreaterThan(86_300);
    expect(left).toBeLessThanOrEqual(86_376);
  });
});
