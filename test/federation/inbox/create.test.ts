import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, testCtx } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { ownerFollows, process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { publishNote } from "../../../worker/services/post-publish";
import { PermanentError } from "../../../worker/federation/inbox";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
let bob: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({ [bob.id]: () => activityJson(bob.document), [carol.id]: () => activityJson(carol.document) });
});
afterEach(() => restoreFetch());

function note(overrides: Record<string, unknown> = {}) {
  return {
    id: `${bob.id}/statuses/1`,
    type: "Note",
    attributedTo: bob.id,
    content: '<p>Hi <a href="javascript:alert(1)" onclick="x()">there</a><script>bad()</script></p>',
    published: "2026-11-20T10:00:00Z",
    to: [PUBLIC],
    cc: [`${bob.id}/followers`],
    ...overrides,
  };
}
const create = (object: Record<string, unknown>, actor = bob.id) => ({
  id: `${object.id as string}/activity`,
  type: "Create",
  actor,
  object,
});

const followBob = () => ownerFollows(bob.document);

describe("Create", () => {
  it("stores a post from a followed account with its HTML sanitized", async () => {
    await followBob();
    await process(create(note()));
    const [s] = await rows<{ content: string; visibility: string; uri: string }>(
      "SELECT content, visibility, uri FROM statuses",
    );
    expect(s?.uri).toBe(`${bob.id}/statuses/1`);
    expect(s?.visibility).toBe("public");
    expect(s?.content).toContain("there");
    expect(s?.content).not.toMatch(/script|javascript:|onclick/);
  });

  it("ignores a post from an account the owner does not follow that does not concern the owner", async () => {
    await process(create(note()));
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
  });

  it("stores a post that mentions the owner, with its mentions, hashtags and attachments as remote URLs", async () => {
    await process(
      create(
        note({
          to: [ACTOR],
          cc: [],
          tag: [
            { type: "Mention", href: ACTOR, name: "@alice@example.com" },
            { type: "Hashtag", href: "https://remote.example/tags/perch", name: "#perch" },
          ],
          attachment: [
            {
              type: "Document",
              mediaType: "image/png",
              url: "https://remote.example/media/1.png",
              name: "a bird",
            },
          ],
        }),
      ),
    );
    const [s] = await rows<{ visibility: string; mentions: string; tags: string; attachments: string }>(
      "SELECT visibility, mentions, tags, attachments FROM statuses",
    );
    expect(s?.visibility).toBe("direct");
    expect(JSON.parse(s!.mentions)).toEqual([{ uri: ACTOR, name: "@alice@example.com" }]);
    expect(JSON.parse(s!.tags)).toEqual([{ name: "perch", href: "https://remote.example/tags/perch" }]);
    expect(JSON.parse(s!.attachments)).toEqual([
      { type: "Document", url: "https://remote.example/media/1.png", mediaType: "image/png", name: "a bird" },
    ]);
  });

  it("stores a reply to a local post", async () => {
    const mine = await publishNote(testCtx(), { text: "mine", visibility: "public" });
    await process(create(note({ inReplyTo: mine.uri })));
    expect(await rows("SELECT in_reply_to_uri AS r FROM statuses WHERE local = 0")).toEqual([
      { r: mine.uri },
    ]);
  });

  it("stores a Question with its poll and an Article with its title", async () => {
    await followBob();
    await process(
      create(
        note({
          id: `${bob.id}/statuses/2`,
          type: "Question",
          oneOf: [
            { type: "Note", name: "yes", replies: { type: "Collection", totalItems: 3 } },
            { type: "Note", name: "no", replies: { type: "Collection", totalItems: 1 } },
          ],
          endTime: "2026-12-01T00:00:00Z",
        }),
      ),
    );
    await process(
      create(note({ id: `${bob.id}/articles/3`, type: "Article", name: "A title", content: "<p>body</p>" })),
    );
    const polls = await rows<{ poll: string }>("SELECT poll FROM statuses WHERE type = 'Question'");
    expect(JSON.parse(polls[0]!.poll)).toMatchObject({
      mode: "oneOf",
      options: [
        { name: "yes", votes: 3 },
        { name: "no", votes: 1 },
      ],
    });
    const articles = await rows<{ content: string }>("SELECT content FROM statuses WHERE type = 'Article'");
    expect(articles[0]?.content).toContain("<strong>A title</strong>");
  });

  it("is idempotent: the same Create twice stores one post", async () => {
    await followBob();
    await process(create(note()));
    await process({ ...create(note()), id: `${bob.id}/statuses/1/activity-again` });
    expect(await rows("SELECT count(*) AS n FROM statuses")).toEqual([{ n: 1 }]);
  });

  it("refuses a Create whose object is attributed to someone else", async () => {
    await expect(
      process(create(note({ attributedTo: carol.id, id: `${carol.id}/statuses/9` }))),
    ).rejects.toThrow(PermanentError);
  });

  it("re-fetches a forwarded Create's object from its origin instead of trusting the copy", async () => {
    const original = note({ to: [ACTOR], content: "<p>the real text</p>" });
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [carol.id]: () => activityJson(carol.document),
      [original.id]: () => activityJson(original),
    });
    await process(create(note({ to: [ACTOR], content: "<p>forged</p>" })), { signer: carol.id });
    const [s] = await rows<{ content: string }>("SELECT content FROM statuses");
    expect(s?.content).toBe("<p>the real text</p>");
  });
});
