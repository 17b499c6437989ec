import { describe, expect, it } from "vitest";
import { canonicalize, canonicalizeToBytes } from "../../worker/lib/jcs";

describe("JCS (RFC 8785)", () => {
  it("serializes literals and drops whitespace", () => {
    expect(canonicalize(null)).toBe("null");
    expect(canonicalize(true)).toBe("true");
    expect(canonicalize(false)).toBe("false");
    expect(canonicalize([1, [2, { b: 3 }], []])).toBe('[1,[2,{"b":3}],[]]');
    expect(canonicalize({})).toBe("{}");
  });

  it("sorts object members recursively and keeps array order", () => {
    expect(canonicalize({ b: [{ z: 1, a: 2 }], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[{"a":2,"z":1}]}',
    );
  });

  // RFC 8785 §3.2.3: sorted by UTF-16 code units, not by code points or locale.
  it("sorts member names by UTF-16 code units (the RFC's sorting example)", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    // (Not via Object.keys of the parsed output: engines list integer-like keys such as "1" first.)
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // The emoji (surrogate pair D83D DE00) sorts before U+FB33 although its code point is larger.
    expect(canonicalize({ "\ufb33": 1, "\ud83d\ude00": 2 })).toBe('{"\ud83d\ude00":2,"\ufb33":1}');
  });

  it("sorts upper case before lower case, and prefixes first", () => {
    expect(canonicalize({ b: 1, a: 2, B: 3, aa: 4, "": 5 })).toBe('{"":5,"B":3,"a":2,"aa":4,"b":1}');
  });

  // RFC 8785 §3.2.2.3 and Appendix B.
  it("serializes numbers the ECMAScript way", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [-0, "0"],
      [0.1, "0.1"],
      [-1, "-1"],
      [1e21, "1e+21"],
      [1e20, "100000000000000000000"],
      [1e-7, "1e-7"],
      [0.000001, "0.000001"],
      [333333333.3333333, "333333333.3333333"],
      [1e23, "1e+23"],
      [4.5, "4.5"],
      [2e-3, "0.002"],
      [0.000001234, "0.000001234"],
      [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [9007199254740992, "9007199254740992"],
      [295147905179352830000, "295147905179352830000"],
      [-1.7976931348623157e308, "-1.7976931348623157e+308"],
      [-71.184902, "-71.184902"],
    ];
    for (const [n, s] of cases) expect(canonicalize(n), String(n)).toBe(s);
  });

  it("reproduces the RFC's main example (§3.2.2)", () => {
    const input = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`) as unknown;
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("escapes strings minimally with lower-case hex", () => {
    expect(canonicalize('\u0000\u0008\t\n\u000b\f\r\u001f"\\/\u007f\u00e9')).toBe(
      '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\u007f\u00e9"',
    );
    expect(canonicalize("\u2028\ud83d\ude00")).toBe('"\u2028\ud83d\ude00"');
  });

  it("encodes as UTF-8", () => {
    expect([...canonicalizeToBytes({ "\u20ac": 1 })]).toEqual([
      0x7b, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x3a, 0x31, 0x7d,
    ]);
  });

  it("rejects what is not I-JSON", () => {
    expect(() => canonicalize(Number.NaN)).toThrow();
    expect(() => canonicalize(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => canonicalize("\ud800")).toThrow();
    expect(() => canonicalize({ "\udc00x": 1 })).toThrow();
    expect(() => canonicalize([undefined])).toThrow();
    expect(() => canonicalize(undefined)).toThrow();
    expect(() => canonicalize(1n)).toThrow();
    expect(() => canonicalize(new Date(0))).toThrow();
    expect(() => canonicalize(() => 1)).toThrow();
  });

  it("skips members whose value is undefined, like JSON.stringify", () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it("keeps a __proto__ member parsed from JSON", () => {
    const input = JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown;
    expect(canonicalize(input)).toBe('{"__proto__":{"x":1},"a":2}');
  });
});
