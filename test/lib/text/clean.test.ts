import { describe, expect, it } from "vitest";
import { cleanText, truncate } from "../../../worker/lib/text/clean";

describe("cleanText", () => {
  it("removes NUL and the other C0 controls, DEL and C1 controls, keeping tab and line feed", () => {
    expect(cleanText("a\u0000b\u0001c\u0007d\u001be[31m\u007ff\u0085g\u009bh\ti\nj")).toBe(
      "abcde[31mfgh\ti\nj",
    );
  });

  it("turns CRLF and lone CR into line feeds", () => {
    expect(cleanText("one\r\ntwo\rthree\n")).toBe("one\ntwo\nthree\n");
  });

  it("replaces unpaired surrogates and keeps paired ones", () => {
    expect(cleanText("a\ud800b\udc00c😀")).toBe("a\ufffdb\ufffdc😀");
  });

  it("leaves ordinary text, bidi marks and joiners alone", () => {
    const text = "Héllo wörld 👩‍👩‍👧 שלום \u200f日本語 \u00a0x";
    expect(cleanText(text)).toBe(text);
  });
});

describe("truncate", () => {
  it("cuts by characters, never in the middle of one", () => {
    expect(truncate("😀😀😀", 2)).toBe("😀😀");
    expect(truncate("abc", 5)).toBe("abc");
  });
});
