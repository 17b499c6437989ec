/**
 * CSV as Mastodon reads and writes it (Ruby's CSV library with its defaults): RFC 4180 fields,
 * double quotes around a field only when it needs them, rows ended by LF when written and by LF,
 * CRLF or CR when read. Reading is strict, as Ruby's is: a stray quote is an error, not a guess.
 */

export class CsvError extends Error {
  override name = "CsvError";
}

const PLAIN = /[^,\r\n"]+/y;

/** Parses CSV text (a leading byte-order mark is dropped) into rows of fields. Blank lines are skipped. */
export function parseCsv(text: string, opts: { maxRows?: number } = {}): string[][] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  // The field was quoted: nothing but a separator or the line's end may follow its closing quote.
  let quoted = false;
  let line = 1;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = "";
    quoted = false;
  };
  const endRow = () => {
    const blank = row.length === 0 && field === "" && !quoted;
    endField();
    // Ruby's skip_blanks: a line with nothing on it is no row.
    if (!blank) {
      rows.push(row);
      if (opts.maxRows !== undefined && rows.length > opts.maxRows) throw new RowLimit();
    }
    row = [];
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === ",") {
      endField();
      i++;
    } else if (ch === "\n" || ch === "\r") {
      endRow();
      i += ch === "\r" && src[i + 1] === "\n" ? 2 : 1;
      line++;
    } else if (quoted) {
      throw new CsvError(`Any value after quoted field isn't allowed in line ${line}`);
    } else if (ch === '"') {
      if (field !== "") throw new CsvError(`Illegal quoting in line ${line}`);
      i = readQuoted(src, i + 1, line, (chunk, lines) => {
        field += chunk;
        line += lines;
      });
      quoted = true;
    } else {
      // A run of plain characters at once: a 20,000-row file is parsed within a request's CPU budget.
      PLAIN.lastIndex = i;
      const run = PLAIN.exec(src)?.[0] ?? "";
      field += run;
      i += run.length;
    }
  }
  if (field !== "" || quoted || row.length > 0) endRow();
  return rows;
}

/** Reads a quoted field's content from just after its opening quote; returns the index after the closing one. */
function readQuoted(src: string, from: number, line: number, add: (chunk: string, lines: number) => void) {
  let i = from;
  for (;;) {
    const close = src.indexOf('"', i);
    if (close === -1) throw new CsvError(`Unclosed quoted field in line ${line}`);
    const chunk = src.slice(i, close);
    add(chunk, chunk.split(/\r\n|\r|\n/).length - 1);
    if (src[close + 1] !== '"') return close + 1;
    add('"', 0);
    i = close + 2;
  }
}

/** Thrown by parseCsv when a file has more rows than `maxRows`. */
export class RowLimit extends Error {
  override name = "RowLimit";
}

export type CsvValue = string | boolean | null | undefined;

/**
 * One row as Ruby's CSV writes it: booleans as `true`/`false`, nil as nothing, an empty string as
 * `""`, and quotes only around a field holding a comma, a quote or a line break. Rows end with LF.
 */
export function csvRow(values: CsvValue[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value === "" || /[",\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}
