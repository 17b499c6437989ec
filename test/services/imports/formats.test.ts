import { describe, expect, it } from "vitest";
import { ImportFileError, parseImportFile } from "../../../worker/services/imports/formats";

const bytes = (s: string) => new TextEncoder().encode(s);
const parse = (kind: Parameters<typeof parseImportFile>[0], s: string) => parseImportFile(kind, bytes(s));

function refusal(fn: () => unknown): ImportFileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ImportFileError) return e;
    throw e;
  }
  throw new Error("not refused");
}

describe("Mastodon's import files", () => {
  it("reads a following file with its header, Rails booleans and languages", () => {
    const rows = parse(
      "following",
      "Account address,Show boosts,Notify on new posts,Languages\n" +
        '@Bob@B.example,false,TRUE,"en, de"\n' +
        "carol@c.example,off,0,\n" +
        "dan@d.example,,,\n",
    );
    expect(rows).toEqual([
      {
        data: { acct: "Bob@B.example", showReblogs: false, notify: true, languages: ["en", "de"] },
        key: "bob@b.example",
      },
      {
        data: { acct: "carol@c.example", showReblogs: false, notify: false, languages: null },
        key: "carol@c.example",
      },
      // Empty booleans are unset (the defaults apply); an empty Languages column is every language.
      { data: { acct: "dan@d.example", languages: null }, key: "dan@d.example" },
    ]);
  });

  it("reads a file without a header by position, with CRLF and a BOM", () => {
    expect(parse("following", "\uFEFFbob@b.example,false,true\r\ncarol@c.example\r\n")).toEqual([
      { data: { acct: "bob@b.example", showReblogs: false, notify: true }, key: "bob@b.example" },
      { data: { acct: "carol@c.example" }, key: "carol@c.example" },
    ]);
    expect(parse("lists", '"Close, friends",bob@b.example\n').map((r) => r.data)).toEqual([
      { listName: "Close, friends", acct: "bob@b.example" },
    ]);
    expect(parse("domain_blocking", "Spam.Example\n").map((r) => r.key)).toEqual(["spam.example"]);
    expect(parse("bookmarks", "#uri\nhttps://b.example/notes/1\n").map((r) => r.key)).toEqual([
      "https://b.example/notes/1",
    ]);
  });

  it("reads headers in any order and case, and mutes' Hide notifications", () => {
    expect(parse("muting", "hide notifications,account address\nfalse,bob@b.example\n")).toEqual([
      { data: { acct: "bob@b.example", hideNotifications: false }, key: "bob@b.example" },
    ]);
  });

  it("keeps each row that cannot be imported with its reason, and a repeated row as a failure", () => {
    const rows = parse("blocking", "bob@b.example\njust-a-name\n\nbob@b.example\nx@bad..domain\n");
    expect(rows.map((r) => r.error)).toEqual([
      undefined,
      "Not an account address (user@domain)",
      "The same as row 1",
      "Not an account address (its domain is not valid)",
    ]);
    expect(rows.filter((r) => r.error).every((r) => r.key === null)).toBe(true);
    const bookmarks = parse("bookmarks", "https://b.example/1\njavascript:alert(1)\n");
    expect(bookmarks[1]).toMatchObject({ key: null, error: "Not an http(s) URL" });
  });

  it("refuses another kind's file with a 422 that says what it looks like", () => {
    const mutes = "Account address,Hide notifications\nbob@b.example,true\n";
    expect(refusal(() => parse("following", mutes))).toMatchObject({
      status: 422,
      message:
        'This looks like a file of muted accounts (it has a "hide notifications" column), not of follows.',
    });
    const following =
      "Account address,Show boosts,Notify on new posts,Languages\nbob@b.example,true,false,\n";
    expect(refusal(() => parse("blocking", following)).status).toBe(422);
    expect(refusal(() => parse("domain_blocking", "Account address\nbob@b.example\n")).message).toMatch(
      /no "#domain" column/,
    );
    // Without headers: no row is a domain, an address or a URL.
    expect(refusal(() => parse("following", "spam.example\nscam.example\n")).message).toBe(
      "This is not a file of follows: no row holds an account address (row 1: Not an account address (user@domain)).",
    );
    expect(refusal(() => parse("domain_blocking", "https://b.example/notes/1\n")).status).toBe(422);
    expect(refusal(() => parse("blocking", "Friends,bob@b.example\n")).status).toBe(422);
  });

  it("refuses an empty file, a header alone, broken CSV, non-UTF-8 and too many rows", () => {
    expect(refusal(() => parse("blocking", "\n\n")).message).toBe("The file is empty.");
    expect(refusal(() => parse("muting", "Account address,Hide notifications\n")).message).toMatch(/no rows/);
    expect(refusal(() => parse("blocking", 'bob@b.example\n"oops')).message).toMatch(
      /not valid CSV: Unclosed/,
    );
    expect(refusal(() => parseImportFile("blocking", new Uint8Array([0x62, 0xff, 0x0a]))).message).toMatch(
      /not UTF-8/,
    );
    const many = Array.from({ length: 20_001 }, (_, i) => `u${i}@b.example`).join("\n");
    expect(refusal(() => parse("blocking", many)).message).toBe("The file has more than 20,000 rows.");
    expect(parse("blocking", `Account address\n${many.split("\n").slice(1).join("\n")}`)).toHaveLength(
      20_000,
    );
  });

  it("refuses a file over 20 MB with a 413 before reading it", () => {
    expect(refusal(() => parseImportFile("blocking", new Uint8Array(20 * 1024 * 1024 + 1))).status).toBe(413);
  });
});
