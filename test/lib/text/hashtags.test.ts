import { describe, expect, it } from "vitest";
import { displayTag, isTagName, normalizeTag } from "../../../worker/lib/text/hashtags";

describe("normalizeTag", () => {
  it("makes one tag of every spelling of café: case, composed or decomposed, full-width, with #", () => {
    const spellings = [
      "Café",
      "CAFÉ",
      "café",
      "cafe\u0301",
      "CAFE\u0301",
      "#cafe",
      "ｃａｆｅ",
      "ＣＡＦＥ",
      "#Café",
      "cafe",
    ];
    expect(new Set(spellings.map(normalizeTag))).toEqual(new Set(["cafe"]));
  });

  it("folds the accents Mastodon folds, Latin-1 and Latin Extended-A, and keeps the rest", () => {
    expect(normalizeTag("Łódź")).toBe("lodz");
    expect(normalizeTag("Ærøskøbing")).toBe("æroskobing");
    expect(normalizeTag("Straße")).toBe("straße");
    expect(normalizeTag("Œuvre")).toBe("œuvre");
    expect(normalizeTag("Hà_Nội")).toBe("ha_nội");
    expect(normalizeTag("Ελλάδα")).toBe("ελλάδα");
  });

  it("lowers case without a locale: I is i, and dotted İ loses its dot", () => {
    expect(normalizeTag("ISTANBUL")).toBe("istanbul");
    expect(normalizeTag("İstanbul")).toBe("istanbul");
  });

  it("keeps letters of every script, digits, _, ·, ・ and ZWNJ, and drops everything else", () => {
    expect(normalizeTag("日本語")).toBe("日本語");
    expect(normalizeTag("中文_标签")).toBe("中文_标签");
    expect(normalizeTag("l·l")).toBe("l·l");
    expect(normalizeTag("カタ・カナ")).toBe("カタ・カナ");
    expect(normalizeTag("می\u200cخواهم")).toBe("می\u200cخواهم");
    expect(normalizeTag("ภาษาไทย่")).toBe("ภาษาไทย่");
    expect(normalizeTag("rock'n'roll!")).toBe("rocknroll");
    expect(normalizeTag("a b\u0000c-d.e")).toBe("abcde");
    expect(normalizeTag("😀")).toBe("");
  });

  it("turns compatibility forms into their plain letters and digits", () => {
    expect(normalizeTag("ﬁsh")).toBe("fish");
    expect(normalizeTag("ｆｅｄｉ２０２６")).toBe("fedi2026");
    expect(normalizeTag("Ⅻ")).toBe("xii");
  });
});

describe("displayTag", () => {
  it("keeps the author's spelling, composed, without # or characters no tag may contain", () => {
    expect(displayTag("#Café")).toBe("Café");
    expect(displayTag("#Cafe\u0301")).toBe("Café");
    expect(displayTag("＃ＣａｆÉ!")).toBe("ＣａｆÉ");
  });
});

describe("isTagName", () => {
  it("accepts names with a letter, or a separator between word characters, as Mastodon does", () => {
    for (const name of ["cafe", "1a", "a1", "_a", "1_2", "日本語", "l·l"])
      expect(isTagName(name), name).toBe(true);
  });

  it("refuses digits only, separators at either end, empty and over-long names", () => {
    for (const name of ["2026", "", "_", "1_", "·a", "a·", "x".repeat(101)])
      expect(isTagName(name), name).toBe(false);
  });
});
