import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTOR, testCtx } from "../../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { ownerFollows, process, rows } from "../../helpers/inbox";
import { createRemoteActor, type RemoteActor } from "../../helpers/remote-actor";
import { publishNote } from "../../../worker/services/post-publish";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
let bob: RemoteActor;
let carol: RemoteActor;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  mockFetch({ [bob.id]: () => activityJson(bob.document), [carol.id]: () => activityJson(carol.document) });
});
afterEach(() => restoreFetch());

describe("Like and EmojiReact", () => {
  it("Like of a local post is recorded", async () => {
    const post = await publishNote(testCtx(), { text: "like me", visibility: "public" });
    await process({ id: "https://remote.example/likes/1", type: "Like", actor: bob.id, object: post.uri });
    expect(await rows("SELECT status_id, emoji FROM favourites")).toEqual([
      { status_id: post.id, emoji: null },
    ]);
  });

  it("EmojiReact is recorded with its emoji", async () => {
    const post = await publishNote(testCtx(), { text: "react", visibility: "public" });
    await process({
      id: "https://remote.example/reacts/1",
      type: "EmojiReact",
      actor: bob.id,
      object: post.uri,
      content: "🐦",
    });
    expect(await rows("SELECT emoji FROM favourites")).toEqual([{ emoji: "🐦" }]);
  });

  it("a Misskey Like is a favourite even when it carries a reaction, as Mastodon counts it", async () => {
    const post = await publishNote(testCtx(), { text: "react", visibility: "public" });
    await process({
      id: "https://remote.example/likes/m1",
      type: "Like",
      actor: bob.id,
      object: post.uri,
      content: "👍",
      _misskey_reaction: "👍",
    });
    await process({ id: "https://remote.example/likes/m3", type: "Like", actor: bob.id, object: post.uri });
    expect(await rows("SELECT uri, emoji FROM favourites ORDER BY uri")).toEqual([
      { uri: "https://remote.example/likes/m1", emoji: null },
      { uri: "https://remote.example/likes/m3", emoji: null },
    ]);
  });

  it("a custom emoji reaction keeps its image when it is an http(s) URL, and drops any other", async () => {
    const post = await publishNote(testCtx(), { text: "react", visibility: "public" });
    const react = (n: number, url: string) => ({
      id: `https://other.example/reacts/c${n}`,
      type: "EmojiReact",
      actor: carol.id,
      object: post.uri,
      content: ":blobcat@other.example:",
      tag: [{ type: "Emoji", name: ":blobcat:", icon: { type: "Image", url } }],
    });
    await process(react(1, "https://other.example/emoji/blobcat.png"));
    await process({
      ...react(2, "javascript:alert(1)"),
      actor: bob.id,
      id: "https://remote.example/reacts/c2",
    });
    expect(await rows("SELECT uri, emoji, emoji_url FROM favourites ORDER BY uri")).toEqual([
      {
        uri: "https://other.example/reacts/c1",
        emoji: ":blobcat:",
        emoji_url: "https://other.example/emoji/blobcat.png",
      },
      { uri: "https://remote.example/reacts/c2", emoji: ":blobcat:", emoji_url: null },
    ]);
  });

  it("a reaction that is not an emoji is not recorded (EmojiReact), and a Like's text changes nothing", async () => {
    const post = await publishNote(testCtx(), { text: "react", visibility: "public" });
    for (const [i, content] of ["hello there", "<b>x</b>", "", "123"].entries()) {
      await process({
        id: `https://remote.example/reacts/bad${i}`,
        type: "EmojiReact",
        actor: bob.id,
        object: post.uri,
        content,
      });
    }
    await process({
      id: "https://remote.example/likes/text",
      type: "Like",
      actor: bob.id,
      object: post.uri,
      content: "nice post",
    });
    expect(await rows("SELECT uri, emoji FROM favourites")).toEqual([
      { uri: "https://remote.example/likes/text", emoji: null },
    ]);
  });

  it("notifies the owner once per reaction, as pleroma:emoji_reaction, and a Like as a favourite", async () => {
    const post = await publishNote(testCtx(), { text: "react", visibility: "public" });
    const react = {
      id: "https://remote.example/reacts/2",
      type: "EmojiReact",
      actor: bob.id,
      object: post.uri,
      content: "🐦",
    };
    await process(react);
    await process(react);
    await process({ id: "https://remote.example/likes/3", type: "Like", actor: bob.id, object: post.uri });
    expect(await rows("SELECT type, status_id, activity_uri FROM notifications ORDER BY id")).toEqual([
      { type: "pleroma:emoji_reaction", status_id: post.id, activity_uri: react.id },
      { type: "favourite", status_id: post.id, activity_uri: "https://remote.example/likes/3" },
    ]);
  });

  it("Like of a post that is not the owner's is ignored", async () => {
    await process({
      id: "https://remote.example/likes/2",
      type: "Like",
      actor: bob.id,
      object: "https://other.example/notes/1",
    });
    expect(await rows("SELECT * FROM favourites")).toEqual([]);
  });
});

describe("Announce", () => {
  it("of a local post is recorded as a boost", async () => {
    const post = await publishNote(testCtx(), { text: "boost", visibility: "public" });
    await process({
      id: "https://remote.example/boosts/1",
      type: "Announce",
      actor: bob.id,
      object: post.uri,
      to: [PUBLIC],
    });
    expect(await rows("SELECT reblog_of_id FROM statuses WHERE local = 0")).toEqual([
      { reblog_of_id: post.id },
    ]);
  });

  it("from a followed account fetches the boosted post from its origin", async () => {
    await ownerFollows(bob.document);
    const boosted = {
      id: `${carol.id}/statuses/5`,
      type: "Note",
      attributedTo: carol.id,
      content: "<p>carol's</p>",
      to: [PUBLIC],
    };
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [carol.id]: () => activityJson(carol.document),
      [boosted.id]: () => activityJson(boosted),
    });
    await process({
      id: "https://remote.example/boosts/2",
      type: "Announce",
      actor: bob.id,
      object: boosted.id,
      to: [PUBLIC],
    });
    const all = await rows<{ uri: string; reblog_of_id: string | null }>(
      "SELECT uri, reblog_of_id FROM statuses ORDER BY id",
    );
    expect(all.map((s) => s.uri).sort()).toEqual([boosted.id, "https://remote.example/boosts/2"].sort());
  });

  it("from an account the owner does not follow, of a remote post, is ignored without fetching", async () => {
    const mock = mockFetch({ [bob.id]: () => activityJson(bob.document) });
    await process({
      id: "https://remote.example/boosts/3",
      type: "Announce",
      actor: bob.id,
      object: `${carol.id}/statuses/5`,
    });
    expect(await rows("SELECT * FROM statuses")).toEqual([]);
    expect(mock.calls.some((r) => r.url.includes("statuses/5"))).toBe(false);
  });
});

describe("Block", () => {
  it("of the owner is recorded and ends follows both ways", async () => {
    await ownerFollows(bob.document);
    await process({ id: "https://remote.example/follows/9", type: "Follow", actor: bob.id, object: ACTOR });
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 2 }]);
    await process({ id: "https://remote.example/blocks/1", type: "Block", actor: bob.id, object: ACTOR });
    expect(await rows("SELECT count(*) AS n FROM follows")).toEqual([{ n: 0 }]);
    expect(await rows("SELECT uri FROM blocks")).toEqual([{ uri: "https://remote.example/blocks/1" }]);
  });
});
