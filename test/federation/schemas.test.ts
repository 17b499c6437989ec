import { describe, expect, it } from "vitest";
import { Actor, Note, Url, Username } from "../../worker/federation/schemas";
import { HOSTILE_URLS, NOT_HTTP_URLS } from "../helpers/hostile";

describe("the Url schema", () => {
  it.each([...NOT_HTTP_URLS, ...HOSTILE_URLS])("refuses %j", (url) => {
    expect(Url.safeParse(url).success).toBe(false);
  });

  it.each([
    "https://mastodon.social/users/Gargron",
    "http://127.0.0.1:8911/users/a",
    "HTTPS://Mastodon.Social/@Gargron",
    "https://bücher.example/a?b=c&d=%20#f",
    "https://xn--bcher-kva.example/a",
  ])("accepts %s as it is written", (url) => {
    expect(Url.parse(url)).toBe(url);
  });
});

const actor = (extra: Record<string, unknown>) => ({
  id: "https://remote.example/users/bob",
  type: "Person",
  preferredUsername: "bob",
  inbox: "https://remote.example/users/bob/inbox",
  ...extra,
});

const note = (extra: Record<string, unknown>) => ({
  id: "https://remote.example/users/bob/statuses/1",
  type: "Note",
  attributedTo: "https://remote.example/users/bob",
  content: "<p>hi</p>",
  ...extra,
});

describe("remote documents keep only valid entries, never an unvalidated one", () => {
  it("drops attachments whose URL is not http(s) and keeps the others", () => {
    const parsed = Note.parse(
      note({
        attachment: [
          { type: "Document", mediaType: "image/png", url: "javascript:alert(1)" },
          { type: "Document", url: { type: "Link", href: "data:text/html,x" } },
          { type: "Document", url: "https://remote.example/a.png", icon: "javascript:alert(1)" },
          {
            type: "Document",
            url: "https://remote.example/b.png",
            icon: { url: "https://remote.example/b.jpg" },
          },
          "https://remote.example/bare-string.png",
          null,
        ],
      }),
    );
    expect(parsed.attachment).toEqual([
      expect.objectContaining({ url: "https://remote.example/a.png", icon: [] }),
      expect.objectContaining({
        url: "https://remote.example/b.png",
        icon: ["https://remote.example/b.jpg"],
      }),
    ]);
  });

  it("drops a tag's invalid href and name, and tags without a type, instead of passing them through", () => {
    const parsed = Note.parse(
      note({
        tag: [
          { type: "Mention", href: "javascript:alert(1)", name: "x".repeat(600) },
          { type: "Hashtag", href: "https://remote.example/tags/ok", name: "#ok" },
          { href: "https://remote.example/no-type" },
        ],
      }),
    );
    expect(parsed.tag).toEqual([
      { type: "Mention", href: undefined, name: undefined },
      { type: "Hashtag", href: "https://remote.example/tags/ok", name: "#ok" },
    ]);
  });

  it("takes a note's url from its valid links, preferring the text/html one", () => {
    expect(Note.parse(note({ url: "javascript:alert(1)" })).url).toBeUndefined();
    expect(
      Note.parse(
        note({
          url: [
            "vbscript:msgbox(1)",
            { type: "Link", mediaType: "video/mp4", href: "https://remote.example/v.mp4" },
            { type: "Link", mediaType: "text/html", href: "https://remote.example/w/1" },
          ],
        }),
      ).url,
    ).toBe("https://remote.example/w/1");
  });

  it("drops an actor's non-http(s) avatar, header, profile link, endpoints and aliases", () => {
    const parsed = Actor.parse(
      actor({
        url: "javascript:alert(1)",
        icon: [
          { type: "Image", url: "data:image/png;base64,AAAA" },
          { type: "Image", url: "https://remote.example/a.png" },
        ],
        image: { type: "Image", url: "file:///etc/passwd" },
        outbox: "javascript:alert(1)",
        followers: " https://remote.example/followers",
        endpoints: { sharedInbox: "vbscript:msgbox(1)" },
        alsoKnownAs: ["javascript:alert(1)", "https://old.example/users/bob"],
        movedTo: "java\tscript:alert(1)",
      }),
    );
    expect(parsed).toMatchObject({
      icon: ["https://remote.example/a.png"],
      image: [],
      alsoKnownAs: ["https://old.example/users/bob"],
    });
    for (const key of ["url", "outbox", "followers", "movedTo"] as const)
      expect(parsed[key], key).toBeUndefined();
    expect(parsed.endpoints?.sharedInbox).toBeUndefined();
  });

  it("refuses an actor whose id or inbox is not an http(s) URL", () => {
    expect(Actor.safeParse(actor({ inbox: "javascript:alert(1)" })).success).toBe(false);
    expect(Actor.safeParse(actor({ id: "data:text/html,x" })).success).toBe(false);
  });
});

describe("remote usernames", () => {
  it.each([
    "bob",
    "Bob_1",
    "bob.smith",
    "bob-smith",
    "_bob",
    "mastodon.social",
    "ジョン",
    "Øyvind",
    "हिन्दी",
    "x".repeat(100),
  ])("accepts %j", (name) => {
    expect(Username.safeParse(name).success).toBe(true);
  });

  it.each([
    "Gargron@mastodon.social",
    "@bob",
    "bob smith",
    "bob\u00a0smith",
    "bob\u0000",
    "bob\n",
    "bob\u202e",
    "bob\u200b",
    ".bob",
    "bob.",
    "-bob",
    "bob/..",
    "bob:8080",
    "",
    "x".repeat(101),
  ])("refuses %j", (name) => {
    expect(Username.safeParse(name).success).toBe(false);
  });
});
