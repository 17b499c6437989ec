/**
 * The files Mastodon's Import and Export pages exchange, as its bulk import reads them
 * (app/models/form/import.rb): a header row where Mastodon writes one, optional; columns by header,
 * else by position; booleans cast as Rails casts them. https://docs.joinmastodon.org/user/moving/
 */
import type { ImportKind } from "../../db/schema";
import { CsvError, parseCsv, RowLimit } from "../../lib/csv";
import { MAX_LIST_TITLE } from "../lists";
import { normalizeDomain } from "../relationships";

export const IMPORT_KINDS = [
  "following",
  "blocking",
  "muting",
  "domain_blocking",
  "bookmarks",
  "lists",
] as const satisfies readonly ImportKind[];

/** As Mastodon's Form::Import. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 20_000;

/** The columns of each kind, in the order Mastodon writes them (and reads a file without headers). */
export const HEADERS: Record<ImportKind, readonly string[]> = {
  following: ["Account address", "Show boosts", "Notify on new posts", "Languages"],
  blocking: ["Account address"],
  muting: ["Account address", "Hide notifications"],
  domain_blocking: ["#domain"],
  bookmarks: ["#uri"],
  lists: ["List name", "Account address"],
};

/** What a kind is called in messages. */
export const KIND_NAMES: Record<ImportKind, string> = {
  following: "follows",
  blocking: "blocked accounts",
  muting: "muted accounts",
  domain_blocking: "blocked domains",
  bookmarks: "bookmarks",
  lists: "lists",
};

/**
 * A first row whose first field is one of these is a header row. Mastodon knows only each kind's
 * first column there; Perch knows them all, so a header in another order is still a header.
 */
const KNOWN = new Set(Object.values(HEADERS).flatMap((h) => h.map((x) => x.toLowerCase())));

/** The headers only one kind's file has, as Mastodon guesses a file's kind from them. */
const TELLING: [string, ImportKind][] = [
  ["hide notifications", "muting"],
  ["show boosts", "following"],
  ["notify on new posts", "following"],
  ["languages", "following"],
  ["#domain", "domain_blocking"],
  ["#uri", "bookmarks"],
  ["list name", "lists"],
];

export interface AccountRow {
  acct: string;
  showReblogs?: boolean;
  notify?: boolean;
  /** null: every language. */
  languages?: string[] | null;
  hideNotifications?: boolean;
}
export interface ListRow {
  listName: string;
  acct: string;
}
export type RowData = AccountRow | ListRow | { domain: string } | { uri: string };

export interface ParsedRow {
  data: Record<string, unknown>;
  /** What overwrite mode compares with; null when the row failed. */
  key: string | null;
  /** Why the row cannot be imported, when it cannot. */
  error?: string;
}

/** A file refused as a whole: the status says how (413 too large, 422 not this kind or not CSV). */
export class ImportFileError extends Error {
  constructor(
    readonly status: 413 | 422,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The rows of an uploaded file of `kind`. Refuses (ImportFileError) a file that is too large, not
 * CSV, empty, over 20,000 rows, or of another kind: headers that name another kind's columns, or
 * no row that could be one of this kind. A row that cannot be imported is kept with its reason.
 */
export function parseImportFile(kind: ImportKind, bytes: ArrayBuffer | Uint8Array): ParsedRow[] {
  if (bytes.byteLength > MAX_IMPORT_BYTES)
    throw new ImportFileError(413, "The file is larger than 20 MB, the most Mastodon's formats allow.");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ImportFileError(422, "The file is not UTF-8 text.");
  }
  let table: string[][];
  try {
    // One more than the limit, and the header row.
    table = parseCsv(text, { maxRows: MAX_IMPORT_ROWS + 1 });
  } catch (e) {
    if (e instanceof RowLimit)
      throw new ImportFileError(422, `The file has more than ${MAX_IMPORT_ROWS.toLocaleString("en")} rows.`);
    if (e instanceof CsvError) throw new ImportFileError(422, `The file is not valid CSV: ${e.message}.`);
    throw e;
  }
  table = table.filter((r) => r.some((f) => f.trim() !== ""));
  if (table.length === 0) throw new ImportFileError(422, "The file is empty.");
  const first = table[0] ?? [];
  const hasHeader = KNOWN.has((first[0] ?? "").trim().toLowerCase());
  const columns = hasHeader ? headerColumns(kind, first) : positional(kind);
  const body = hasHeader ? table.slice(1) : table;
  if (body.length > MAX_IMPORT_ROWS)
    throw new ImportFileError(422, `The file has more than ${MAX_IMPORT_ROWS.toLocaleString("en")} rows.`);
  if (body.length === 0) throw new ImportFileError(422, "The file has a header but no rows.");
  const seen = new Map<string, number>();
  const rows = body.map((fields, i) => {
    const cell = (header: string) => {
      const at = columns.get(header.toLowerCase());
      return at === undefined ? undefined : fields[at];
    };
    const row = parseRow(kind, cell);
    if (row.key !== null) {
      const before = seen.get(row.key);
      if (before !== undefined) return failed(row.data, `The same as row ${before + 1}`);
      seen.set(row.key, i);
    }
    return row;
  });
  if (rows.every((r) => r.error !== undefined && !r.error.startsWith("The same as")))
    throw new ImportFileError(
      422,
      `This is not a file of ${KIND_NAMES[kind]}: no row holds ${WHAT[kind]} (row 1: ${rows[0]?.error ?? ""}).`,
    );
  return rows;
}

const WHAT: Record<ImportKind, string> = {
  following: "an account address",
  blocking: "an account address",
  muting: "an account address",
  domain_blocking: "a domain",
  bookmarks: "a post's URL",
  lists: "a list name and an account address",
};

/** Column index by lower-cased header, for a file with a header row; refuses another kind's file. */
function headerColumns(kind: ImportKind, header: string[]): Map<string, number> {
  const columns = new Map<string, number>();
  header.forEach((h, i) => {
    const name = h.trim().toLowerCase();
    if (!columns.has(name)) columns.set(name, i);
  });
  const other = TELLING.find(
    ([h, k]) => columns.has(h) && k !== kind && !HEADERS[kind].some((x) => x.toLowerCase() === h),
  );
  if (other)
    throw new ImportFileError(
      422,
      `This looks like a file of ${KIND_NAMES[other[1]]} (it has a "${other[0]}" column), not of ${KIND_NAMES[kind]}.`,
    );
  const required = kind === "lists" ? HEADERS.lists : HEADERS[kind].slice(0, 1);
  const missing = required.find((h) => !columns.has(h.toLowerCase()));
  if (missing)
    throw new ImportFileError(
      422,
      `This is not a file of ${KIND_NAMES[kind]}: it has no "${missing}" column.`,
    );
  return columns;
}

function positional(kind: ImportKind): Map<string, number> {
  return new Map(HEADERS[kind].map((h, i) => [h.toLowerCase(), i]));
}

const failed = (data: Record<string, unknown>, error: string): ParsedRow => ({ data, key: null, error });

const MAX_ACCT = 512;
const MAX_URI = 2048;

function parseRow(kind: ImportKind, cell: (header: string) => string | undefined): ParsedRow {
  switch (kind) {
    case "domain_blocking": {
      const raw = (cell("#domain") ?? "").trim();
      const domain = /[/@:\s]/.test(raw) ? null : normalizeDomain(raw);
      return domain ? { data: { domain }, key: domain } : failed({ domain: raw }, "Not a domain name");
    }
    case "bookmarks": {
      const uri = (cell("#uri") ?? "").trim();
      return isHttpUrl(uri)
        ? { data: { uri }, key: uri }
        : failed({ uri: uri.slice(0, MAX_URI) }, "Not an http(s) URL");
    }
    case "lists": {
      const listName = (cell("List name") ?? "").trim();
      const acct = normalizeAcct(cell("Account address") ?? "");
      const data = { listName: listName.slice(0, MAX_LIST_TITLE), acct: acct.slice(0, MAX_ACCT) };
      if (!listName) return failed(data, "No list name");
      if (listName.length > MAX_LIST_TITLE)
        return failed(data, `The list name is longer than ${MAX_LIST_TITLE} characters`);
      const bad = acctError(acct);
      return bad ? failed(data, bad) : { data, key: `${listName}\n${acct.toLowerCase()}` };
    }
    default: {
      const acct = normalizeAcct(cell("Account address") ?? "");
      const data: AccountRow = { acct: acct.slice(0, MAX_ACCT) };
      const bad = acctError(acct);
      if (bad) return failed({ ...data }, bad);
      if (kind === "following") {
        const reblogs = railsBoolean(cell("Show boosts"));
        const notify = railsBoolean(cell("Notify on new posts"));
        const languages = cell("Languages");
        if (reblogs !== undefined) data.showReblogs = reblogs;
        if (notify !== undefined) data.notify = notify;
        if (languages !== undefined) data.languages = languageList(languages);
      }
      if (kind === "muting") {
        const hide = railsBoolean(cell("Hide notifications"));
        if (hide !== undefined) data.hideNotifications = hide;
      }
      return { data: { ...data }, key: acct.toLowerCase() };
    }
  }
}

/** As Mastodon reads an address: trimmed, without a leading `@`. */
function normalizeAcct(raw: string): string {
  return raw.trim().replace(/^@/, "");
}

function acctError(acct: string): string | undefined {
  if (acct === "") return "No account address";
  if (acct.length > MAX_ACCT) return "The account address is too long";
  const at = acct.lastIndexOf("@");
  if (at <= 0 || /[\s/]/.test(acct) || acct.indexOf("@") !== at)
    return "Not an account address (user@domain)";
  if (!normalizeDomain(acct.slice(at + 1))) return "Not an account address (its domain is not valid)";
  return undefined;
}

/** Rails' boolean cast of a lower-cased field: empty is unset, these four are false, the rest true. */
function railsBoolean(raw: string | undefined): boolean | undefined {
  const v = raw?.trim().toLowerCase();
  if (v === undefined || v === "") return undefined;
  return !["0", "f", "false", "off"].includes(v);
}

function languageList(raw: string): string[] | null {
  const list = raw
    .split(",")
    .map((l) => l.trim())
    .filter((l) => /^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{1,8})?$/.test(l));
  return list.length > 0 ? [...new Set(list)].slice(0, 20) : null;
}

function isHttpUrl(raw: string): boolean {
  if (raw.length > MAX_URI || !/^https?:\/\//i.test(raw)) return false;
  try {
    const u = new URL(raw);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}
