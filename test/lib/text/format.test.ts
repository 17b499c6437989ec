import { describe, expect, it } from "vitest";
import {
  extractEntities,
  extractTags,
  linkHtml,
  mentionKey,
  renderText,
  statusLength,
} from "../../../worker/lib/text/format";

const base = "https://perch.example";

describe("renderText", () => {
  it("makes paragraphs and line breaks, escaping HTML", () => {
    expect(renderText("a <b>\nline\n\nnext", { base })).toBe("<p>a &lt;b&gt;<br>line</p><p>next</p>");
  });

  it("links a short URL with the scheme invisible", () => {
    expect(renderText("see https://example.com/a ok", { base })).toBe(
      '<p>see <a href="https://example.com/a" target="_blank" rel="nofollow noopener">' +
        '<span class="invisible">https://</span><span class="">example.com/a</span>' +
        '<span class="invisible"></span></a> ok</p>',
    );
  });

  it("truncates a long URL after 30 characters with an ellipsis span, www. invisible", () => {
    const url = "https://www.example.com/a/very/long/path/that/goes/on";
    expect(linkHtml(url)).toBe(
      `<a href="${url}" target="_blank" rel="nofollow noopener">` +
        '<span class="invisible">https://www.</span>' +
        '<span class="ellipsis">example.com/a/very/long/path/t</span>' +
        '<span class="invisible">hat/goes/on</span></a>',
    );
  });

  it("does not link schemes other than http(s) nor bare domains", () => {
    expect(renderText("mailto:a@b.example and example.com", { base })).toBe(
      "<p>mailto:a@b.example and example.com</p>",
    );
  });

  it("links hashtags to the local tag page", () => {
    expect(renderText("#Hello world #2024 not#this", { base })).toBe(
      '<p><a href="https://perch.example/tags/hello" class="mention hashtag" rel="tag">#<span>Hello</span></a>' +
        " world #2024 not#this</p>",
    );
  });

  it("links resolved mentions as h-cards and leaves unresolved ones as text", () => {
    const mentions = new Map([
      [mentionKey("bob", "remote.example"), { url: "https://remote.example/@bob", username: "bob" }],
    ]);
    expect(renderText("hi @bob@remote.example and @ghost@nowhere.example", { base, mentions })).toBe(
      '<p>hi <span class="h-card" translate="no"><a href="https://remote.example/@bob" class="u-url mention">' +
        "@<span>bob</span></a></span> and @ghost@nowhere.example</p>",
    );
  });

  it("reads a mention whose domain has a port, and stops at punctuation after it", () => {
    const e = extractEntities("hi @alice@127.0.0.1:8787! and @bob@social.example:443.");
    expect(e).toMatchObject([
      { kind: "mention", username: "alice", domain: "127.0.0.1:8787" },
      { kind: "mention", username: "bob", domain: "social.example:443" },
    ]);
  });

  it("does not take an email address or a URL's @ for a mention", () => {
    const e = extractEntities("mail me@example.com at https://example.com/@bob");
    expect(e.map((x) => x.kind)).toEqual(["url"]);
  });

  it("does not find hashtags inside URLs", () => {
    expect(extractTags("https://example.com/#anchor #real #Real")).toEqual(["real"]);
  });

  it("reads every spelling of a tag as one tag, keeping the first, and links it by its normalized name", () => {
    expect(extractTags("#Café #CAFÉ #cafe\u0301 #ｃａｆｅ ＃cafe #cafe")).toEqual(["Café"]);
    expect(renderText("#Café", { base })).toBe(
      '<p><a href="https://perch.example/tags/cafe" class="mention hashtag" rel="tag">#<span>Café</span></a></p>',
    );
  });

  it("reads a tag written with combining marks whole", () => {
    expect(extractTags("#हिन्दी and #cafe\u0301!")).toEqual(["हिन्दी", "cafe\u0301"]);
  });
});

describe("statusLength", () => {
  it("counts every URL as 23 characters", () => {
    expect(statusLength(`a https://example.com/${"x".repeat(100)}`)).toBe(2 + 23);
  });

  it("counts a remote mention by its local part", () => {
    expect(statusLength("@bob@some.very.long.domain.example hi")).toBe("@bob hi".length);
  });

  it("counts code points, not UTF-16 units", () => {
    expect(statusLength("🦜🦜")).toBe(2);
  });
});
