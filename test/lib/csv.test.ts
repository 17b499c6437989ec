import { describe, expect, it } from "vitest";
import { CsvError, csvRow, parseCsv, RowLimit } from "../../worker/lib/csv";

describe("reading CSV", () => {
  it("reads LF, CRLF and CR line ends alike, and skips blank lines", () => {
    expect(parseCsv("a,b\r\nc,d\n\ne,f\rg,h\r\n")).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e", "f"],
      ["g", "h"],
    ]);
  });

  it("drops a byte-order mark at the start", () => {
    expect(parseCsv("\uFEFFAccount address\nbob@b.example")).toEqual([
      ["Account address"],
      ["bob@b.example"],
    ]);
  });

  it("reads quoted fields with commas, doubled quotes and line breaks", () => {
    expect(parseCsv('"Friends, close","say ""hi""\nthere",\n""')).toEqual([
      ["Friends, close", 'say "hi"\nthere', ""],
      [""],
    ]);
  });

  it("refuses a stray quote inside a field and text after a closing quote, naming the line", () => {
    expect(() => parseCsv('ok\nab"c')).toThrow(new CsvError("Illegal quoting in line 2"));
    expect(() => parseCsv('"a"b')).toThrow(CsvError);
    expect(() => parseCsv('"never closed')).toThrow(/Unclosed quoted field in line 1/);
  });

  it("stops as soon as a file passes the row limit", () => {
    expect(() => parseCsv("a\nb\nc\n", { maxRows: 2 })).toThrow(RowLimit);
    expect(parseCsv("a\nb\n", { maxRows: 2 })).toHaveLength(2);
  });
});

describe("writing CSV as Ruby's CSV does", () => {
  it("writes booleans as true/false, nil as nothing, and ends rows with LF", () => {
    expect(csvRow(["bob@b.example", true, false, null])).toBe("bob@b.example,true,false,\n");
  });

  it("quotes only fields that need it, and an empty string", () => {
    expect(csvRow(["en, de", 'say "hi"', "two\nlines", "", "plain"])).toBe(
      '"en, de","say ""hi""","two\nlines","",plain\n',
    );
  });

  it("reads back what it writes", () => {
    const rows = [["Close, friends", 'a "b"', "x\r\ny"], ["z"]];
    expect(parseCsv(rows.map((r) => csvRow(r)).join(""))).toEqual(rows);
  });
});
