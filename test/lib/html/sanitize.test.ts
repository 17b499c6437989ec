import { describe, expect, it } from "vitest";
import { escapeHtml, sanitizeHtml } from "../../../worker/lib/html/sanitize";

const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  a: ["href", "rel", "target", "class", "translate"],
  span: ["class", "translate"],
  p: ["class"],
  ol: ["start", "reversed"],
  li: ["value"],
};
const ALLOWED_ELEMENTS = new Set(
  "p br span a del s pre blockquote code b strong u i em ul ol li ruby rt rp".split(" "),
);

/**
 * Independent check of the output: every "<" starts an allowed, well-formed tag with allowed
 * attributes, hrefs are http(s) (in these tests), and the fragment is balanced.
 */
function expectSafe(html: string): void {
  const open: string[] = [];
  for (const token of html.match(/<[^>]*>?/g) ?? []) {
    const end = /^<\/([a-z]+)>$/.exec(token);
    if (end) {
      expect(open.pop(), `${token} in ${html}`).toBe(end[1]);
      continue;
    }
    const start = /^<([a-z]+)((?: [a-z]+="[^"<>]*")*)>$/.exec(token);
    expect(start, `${token} in ${html}`).not.toBeNull();
    const [, name = "", attrs = ""] = start ?? [];
    expect(ALLOWED_ELEMENTS.has(name), `${name} in ${html}`).toBe(true);
    for (const [, attr = "", value = ""] of attrs.matchAll(/ ([a-z]+)="([^"]*)"/g)) {
      expect(ALLOWED_ATTRIBUTES[name] ?? [], `${name}[${attr}] in ${html}`).toContain(attr);
      if (attr === "href") expect(value, html).toMatch(/^https?:\/\/[^\s]+$/);
    }
    if (name !== "br") open.push(name);
  }
  expect(open, `unclosed in ${html}`).toEqual([]);
  expect(html).not.toMatch(/javascript:|vbscript:|data:text/i);
}

async function clean(html: string): Promise<string> {
  const out = await sanitizeHtml(html);
  expectSafe(out);
  return out;
}

describe("sanitizeHtml: what Mastodon keeps", () => {
  it("keeps a Mastodon status as Mastodon renders it", async () => {
    const input =
      '<p><span class="h-card" translate="no"><a href="https://b.example/@bob" class="u-url mention">' +
      '@<span>bob</span></a></span> look: <a href="https://b.example/tags/cats" class="mention hashtag" ' +
      'rel="tag">#<span>cats</span></a> <a href="https://example.com/a/very/long/path" target="_blank" ' +
      'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span>' +
      '<span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a></p>';
    expect(await clean(input)).toBe(
      '<p><span class="h-card" translate="no"><a href="https://b.example/@bob" rel="nofollow noopener" ' +
        'target="_blank" class="u-url mention">@<span>bob</span></a></span> look: <a ' +
        'href="https://b.example/tags/cats" rel="nofollow noopener" target="_blank" class="mention hashtag">#' +
        '<span>cats</span></a> <a href="https://example.com/a/very/long/path" rel="nofollow noopener" ' +
        'target="_blank" translate="no"><span class="invisible">https://</span><span class="ellipsis">' +
        'example.com/a/very</span><span class="invisible">/long/path</span></a></p>',
    );
  });

  it("keeps every allowed element", async () => {
    const input =
      "<p>a<br>b<br/>c</p><pre><code>x = 1;</code></pre><blockquote><p>q</p></blockquote>" +
      "<p><b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><del>d</del><s>s</s>" +
      "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby></p><ul><li>1</li></ul><ol><li>2</li></ol>";
    expect(await clean(input)).toBe(input.replace("<br/>", "<br>"));
  });

  it("keeps list numbering attributes, if they are numbers", async () => {
    expect(await clean('<ol start="3" reversed><li value="7">a</li><li value="x">b</li></ol>')).toBe(
      '<ol start="3" reversed=""><li value="7">a</li><li>b</li></ol>',
    );
    expect(await clean('<ol start="1e9" type="a"><li value=" -2 ">a</li></ol>')).toBe(
      '<ol><li value="-2">a</li></ol>',
    );
  });

  it("filters classes to microformats and Mastodon's own", async () => {
    expect(
      await clean('<span class="h-card p-name u-photo dt-published e-content mention hashtag">x</span>'),
    ).toBe('<span class="h-card p-name u-photo dt-published e-content mention hashtag">x</span>');
    expect(await clean('<p class="quote-inline evil h-entry">x</p>')).toBe(
      '<p class="quote-inline h-entry">x</p>',
    );
    expect(await clean('<span class="evil x-y">x</span><b class="h-card">y</b>')).toBe(
      "<span>x</span><b>y</b>",
    );
    expect(await clean('<span class="h-&quot;onclick=&quot;">x</span>')).toBe("<span>x</span>");
  });

  it("keeps translate only when it is no", async () => {
    expect(await clean('<span translate="yes">a</span><span translate="NO">b</span>')).toBe(
      "<span>a</span><span>b</span>",
    );
  });

  it("keeps http(s) links and normalises the URL", async () => {
    const links: [string, string][] = [
      ["http://a.example/x", "http://a.example/x"],
      ["HTTPS://A.EXAMPLE/a b?q=1&amp;r=2#f", "https://a.example/a%20b?q=1&amp;r=2#f"],
      ["  https://a.example/\n", "https://a.example/"],
    ];
    for (const [href, expected] of links) {
      expect(await sanitizeHtml(`<a href="${href}">x</a>`), href).toBe(
        `<a href="${expected}" rel="nofollow noopener" target="_blank">x</a>`,
      );
    }
  });

  it("unwraps links without a usable href, keeping their text", async () => {
    for (const href of [
      "/relative",
      "//evil.example/x",
      "#top",
      "",
      "mailto:a@b.example",
      "ftp://f.example/",
      "tel:1",
      "file:///etc/passwd",
      // Links Mastodon keeps but Perch does not pass to clients: only http(s) URLs leave Perch.
      "gemini://g.example/",
      "xmpp:bob@b.example",
      "magnet:?xt=urn:btih:abc",
      "ipfs://bafy",
      "dat://x",
      "gopher://g.example/1",
    ]) {
      expect(await clean(`<p><a href="${href}">click</a></p>`), href).toBe("<p>click</p>");
    }
    expect(await clean("<a>no href</a><a name=x>anchor</a>")).toBe("no hrefanchor");
  });

  it("replaces rel and target rather than trusting them", async () => {
    expect(await clean('<a href="https://a.example/" rel="me opener" target="_top">x</a>')).toBe(
      '<a href="https://a.example/" rel="nofollow noopener" target="_blank">x</a>',
    );
  });

  it("turns headings into strong paragraphs, as Mastodon does", async () => {
    expect(await clean('<h1 id="t" class="h-entry">Title</h1><p>text</p><h6>small</h6>')).toBe(
      "<p><strong>Title</strong></p><p>text</p><p><strong>small</strong></p>",
    );
    expect(await clean("<p>before<h2>T</h2>after</p>")).toBe("<p>before</p><p><strong>T</strong></p>after");
  });

  it("unwraps unknown elements, keeping content, with spaces around blocks", async () => {
    expect(await clean("<div>one</div><div>two</div>")).toBe("one  two");
    expect(await clean("<p><abbr title=x>HTML</abbr> <mark>m</mark> <custom-el>c</custom-el></p>")).toBe(
      "<p>HTML m c</p>",
    );
    expect(await clean("<table><tr><td>a</td><td>b</td></tr></table>")).toBe("a  b");
    expect(await clean("<html><body><p>x</p></body></html>")).toBe("<p>x</p>");
  });

  it("keeps text, entities and non-ASCII as they are, and escapes stray < and >", async () => {
    expect(await clean("<p>1 &lt; 2 &amp;&amp; 3 &gt; 2 &copy; &#x1F600;</p>")).toBe(
      "<p>1 &lt; 2 &amp;&amp; 3 &gt; 2 &copy; &#x1F600;</p>",
    );
    expect(await clean("a < b > c & d")).toBe("a &lt; b &gt; c & d");
    expect(await clean("<p>héllo wörld 👋 日本語</p>")).toBe("<p>héllo wörld 👋 日本語</p>");
    expect(await clean("plain text")).toBe("plain text");
    expect(await clean("")).toBe("");
  });

  it("removes NUL and other control characters, raw or as character references", async () => {
    expect(await clean("<p>a\u0000b\u0001c\u001b[31md&#0;e&#x1b;f&#1g&#127;h\u0085i</p>")).toBe(
      "<p>abc[31mdefghi</p>",
    );
    // Tab, line feed and windows-1252 references (&#x80; is €) are text, not controls.
    expect(await clean("<p>&#9;&#10;&#x80;\tx\r\ny</p>")).toBe("<p>&#9;&#10;&#x80;\tx\ny</p>");
    expect(await clean('<p title="a\u0000b"><a href="https://a.example/&#0;x\u0000y">l</a></p>')).not.toMatch(
      /\u0000/,
    );
  });

  it("balances the fragment", async () => {
    expect(await clean("<b>bold")).toBe("<b>bold</b>");
    expect(await clean("<p>a<p>b")).toBe("<p>a</p><p>b</p>");
    expect(await clean("<p>a<b>b</p>c")).toBe("<p>a<b>b</b></p>c");
    expect(await clean("<b><i>x</b>y</i>")).toBe("<b><i>x</i></b>y");
    expect(await clean("<ul><li>a<li>b</ul>")).toBe("<ul><li>a</li><li>b</li></ul>");
    expect(await clean("<p>a<ul><li>b</li></ul>")).toBe("<p>a</p><ul><li>b</li></ul>");
    expect(await clean('<a href="https://a.example/">a<a href="https://b.example/">b</a>')).toBe(
      '<a href="https://a.example/" rel="nofollow noopener" target="_blank">a</a>' +
        '<a href="https://b.example/" rel="nofollow noopener" target="_blank">b</a>',
    );
  });

  it("drops stray end tags, so content cannot close the page's elements", async () => {
    expect(await clean("x</div></div></p></li></span>y")).toBe("xy");
    expect(await clean("</details></article><p>x</p></body></html>")).toBe("<p>x</p>");
  });

  it("removes comments, doctypes and processing instructions", async () => {
    expect(await clean("<!DOCTYPE html><!-- hidden --><p>a<!-- x -->b</p><?php echo 1 ?>")).toBe("<p>ab</p>");
  });
});

describe("sanitizeHtml: XSS", () => {
  it("neutralises javascript: and other script URLs in every disguise", async () => {
    const hrefs = [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:alert(1)",
      "\u0001javascript:alert(1)",
      "java\tscript:alert(1)",
      "java\nscript:alert(1)",
      "java&#x09;script:alert(1)",
      "java&Tab;script:alert(1)",
      "jav&NewLine;ascript:alert(1)",
      "&#106;avascript:alert(1)",
      "&#x6A;avascript:alert(1)",
      "&#X6a;avascript:alert(1)",
      "&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)",
      "&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)",
      "javascript&colon;alert(1)",
      "javascript&#58;alert(1)",
      "javascript&#x3a;alert(1)",
      "vbscript:msgbox(1)",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "livescript:alert(1)",
      "jav\u0000ascript:alert(1)",
    ];
    for (const href of hrefs) {
      for (const quoted of [`"${href}"`, `'${href}'`]) {
        const out = await clean(`<a href=${quoted}>x</a>`);
        expect(out, href).toBe("x");
      }
    }
    expect(await clean("<a href=javascript:alert(1)>x</a>")).toBe("x");
  });

  it("cannot break out of an attribute value", async () => {
    expect(await clean(`<a href='https://a.example/"onmouseover="alert(1)'>x</a>`)).toBe(
      '<a href="https://a.example/%22onmouseover=%22alert(1)" rel="nofollow noopener" target="_blank">x</a>',
    );
    expect(
      await clean('<a href="https://a.example/?a=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">x</a>'),
    ).toBe(
      '<a href="https://a.example/?a=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E" rel="nofollow noopener" target="_blank">x</a>',
    );
  });

  it("removes event handlers and styles", async () => {
    expect(
      await clean(
        '<p onclick="alert(1)" ONMOUSEOVER=alert(1) style="background:url(javascript:alert(1))">a</p>' +
          '<a href="https://a.example/" onclick="alert(1)" style="x" id="x" data-x="y">b</a>' +
          '<span onfocus=alert(1) tabindex=1 contenteditable class="h-card">c</span>',
      ),
    ).toBe(
      '<p>a</p><a href="https://a.example/" rel="nofollow noopener" target="_blank">b</a><span class="h-card">c</span>',
    );
  });

  it("removes script-bearing elements with their content", async () => {
    const cases: [string, string][] = [
      ["a<script>alert(1)</script>b", "ab"],
      ["a<SCRIPT SRC=//evil.example/x.js></SCRIPT>b", "ab"],
      ["a<style>*{background:url(javascript:alert(1))}</style>b", "ab"],
      ['a<iframe src="javascript:alert(1)">fallback</iframe>b', "ab"],
      ['a<object data="javascript:alert(1)">fallback</object>b', "ab"],
      ['a<embed src="javascript:alert(1)">b', "ab"],
      ["a<svg onload=alert(1)><script>alert(1)</script><a href=https://x>x</a></svg>b", "ab"],
      ['a<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">c</maction></math>b', "ab"],
      ["a<template><img src=x onerror=alert(1)></template>b", "ab"],
      ["a<noscript><img src=x onerror=alert(1)></noscript>b", "ab"],
      ["a<head><title>t</title><meta http-equiv=refresh content='0;url=javascript:alert(1)'></head>b", "ab"],
      ["a<select><option>o</option></select>b", "ab"],
      ["a<xmp><img src=x onerror=alert(1)></xmp>b", "ab"],
      ["a<plaintext><img src=x onerror=alert(1)>", "a"],
      ["a<frameset onload=alert(1)><frame src=javascript:alert(1)></frameset>b", "ab"],
    ];
    for (const [input, expected] of cases) expect(await clean(input), input).toBe(expected);
  });

  it("removes void and interactive elements carrying handlers", async () => {
    const inputs = [
      "<img src=x onerror=alert(1)>",
      '<img src="javascript:alert(1)">',
      "<image src=x onerror=alert(1)>",
      "<input autofocus onfocus=alert(1)>",
      "<body onload=alert(1)>",
      "<video><source onerror=alert(1)></video>",
      "<audio src=x onerror=alert(1)>",
      "<details open ontoggle=alert(1)>",
      "<marquee onstart=alert(1)>",
      '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">',
      '<base href="javascript:alert(1)//">',
      '<link rel="stylesheet" href="javascript:alert(1)">',
      '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
      "<isindex action=javascript:alert(1) type=image>",
      '<div style="width: expression(alert(1))">',
    ];
    for (const input of inputs) expect(await clean(input), input).toBe("");
  });

  it("survives mutation-XSS and parser-confusion payloads", async () => {
    const payloads = [
      '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
      "<textarea></p><img src=x onerror=alert(1)></textarea>",
      "<title></title><img src=x onerror=alert(1)></title>",
      "<style><img src=x onerror=alert(1)></style>",
      "<svg><style><img src=x onerror=alert(1)></style></svg>",
      "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
      "<math><mi><mglyph><svg><mtext><textarea><path id=</textarea><img onerror=alert(1) src=1>",
      "<!--><img src=x onerror=alert(1)>-->",
      "<!--<img src=x onerror=alert(1)>-->",
      "<![CDATA[><img src=x onerror=alert(1)>]]>",
      "<scr<script>ipt>alert(1)</scr</script>ipt>",
      "<<script>alert(1)//<</script>",
      '<a href="https://a.example/"><img src=x onerror=alert(1)></a>',
      "<p>ok<img src=x onerror=alert(1) ",
      "<p>ok<img src=x onerror=alert(1)",
      "<p>ok<",
      "x</p><img src=x onerror=alert(1)>",
      "<b\0 onclick=alert(1)>x</b>",
      '<a href=https://a.example/ "onclick=alert(1)">x</a>',
      "<a/href=javascript:alert(1)>x</a>",
      '<a href="https://a.example/"/onclick=alert(1)>x</a>',
      "<p/onclick=alert(1)>x",
      "<listing><img src=x onerror=alert(1)></listing>",
      "<object><param name=src value=javascript:alert(1)></object>",
      "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
      "<ruby><rt onclick=alert(1)>x</rt></ruby>",
    ];
    for (const payload of payloads) {
      const out = await clean(payload);
      expect(out, payload).not.toMatch(/<(?:img|script|svg|style|iframe)|on\w+=/i);
    }
  });

  it("keeps escaped markup escaped", async () => {
    expect(await clean("&lt;script&gt;alert(1)&lt;/script&gt;")).toBe(
      "&lt;script&gt;alert(1)&lt;/script&gt;",
    );
    expect(await clean("<p>&lt;img src=x onerror=alert(1)&gt;</p>")).toBe(
      "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
    );
  });

  it("handles large and deeply nested input", async () => {
    const deep = "<b>".repeat(2000) + "x" + "</b>".repeat(2000);
    expect(await clean(deep)).toBe(deep);
    const many = '<p>line <a href="https://a.example/">link</a></p>'.repeat(2000);
    expect((await clean(many)).length).toBeGreaterThan(many.length);
  });
});

describe("escapeHtml", () => {
  it("escapes the five special characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;",
    );
  });

  it("leaves other text alone", () => {
    expect(escapeHtml("héllo 👋 world\n")).toBe("héllo 👋 world\n");
    expect(escapeHtml("")).toBe("");
  });
});
