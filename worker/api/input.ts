import type { Context } from "hono";
import { z } from "zod";
import { HttpError, payloadTooLarge } from "../lib/errors";

/** The largest non-file request body the API reads (a 5000-character status with a poll fits easily). */
export const MAX_API_BODY = 64 * 1024;

export type InputValue = string | File | InputValue[] | { [key: string]: InputValue };
export type Input = Record<string, InputValue>;

/**
 * Request parameters as Mastodon reads them (Rails params): the query string, then a JSON, form or
 * multipart body on top. Form keys in bracket notation become nested values, as Rails does it:
 * `poll[options][]=a` is `{ poll: { options: ["a"] } }` and `fields_attributes[0][name]=x` is
 * `{ fields_attributes: { "0": { name: "x" } } }`. JSON keeps its own structure (numbers and booleans
 * as strings, which the zod schemas coerce). Files only come from multipart bodies, up to `maxFileBody`.
 */
export async function readInput(c: Context, opts: { maxFileBody?: number } = {}): Promise<Input> {
  const out: Input = {};
  new URL(c.req.url).searchParams.forEach((v, k) => assign(out, k, v));
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "DELETE") {
    // DELETE bodies are rare but some clients send parameters in them: read them when present.
    if (c.req.method !== "DELETE" || !c.req.header("content-type")) return out;
  }
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  const declared = Number(c.req.header("content-length") ?? "NaN");
  if (type.startsWith("multipart/form-data")) {
    const max = opts.maxFileBody ?? MAX_API_BODY;
    if (Number.isFinite(declared) && declared > max)
      throw payloadTooLarge(`Body is larger than ${max} bytes`);
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw new HttpError(400, "Malformed multipart body", "bad_multipart");
    }
    let size = 0;
    for (const [k, v] of form.entries()) {
      size += typeof v === "string" ? v.length : v.size;
      if (size > max) throw payloadTooLarge(`Body is larger than ${max} bytes`);
      assign(out, k, v);
    }
    return out;
  }
  if (Number.isFinite(declared) && declared > MAX_API_BODY) throw payloadTooLarge("Request body too large");
  // Decoded by hand: Request.text() warns about non-text content types such as form bodies.
  const text = new TextDecoder().decode(await c.req.arrayBuffer());
  if (text.length > MAX_API_BODY) throw payloadTooLarge("Request body too large");
  if (!text.trim()) return out;
  if (type.includes("json")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, "Body is not valid JSON", "bad_json");
    }
    if (!json || typeof json !== "object" || Array.isArray(json))
      throw new HttpError(400, "Body must be a JSON object", "bad_json");
    for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
      const value = fromJson(v);
      if (value !== undefined) out[k] = value;
    }
    return out;
  }
  new URLSearchParams(text).forEach((v, k) => assign(out, k, v));
  return out;
}

function fromJson(v: unknown, depth = 0): InputValue | undefined {
  if (depth > 5 || v === null || v === undefined) return undefined;
  if (Array.isArray(v))
    return v.map((x) => fromJson(x, depth + 1)).filter((x): x is InputValue => x !== undefined);
  if (typeof v === "object") {
    const o: Record<string, InputValue> = {};
    for (const [k, x] of Object.entries(v)) {
      const value = fromJson(x, depth + 1);
      if (value !== undefined) o[k] = value;
    }
    return o;
  }
  return String(v);
}

/** Sets `key` (in bracket notation) in `out`. */
function assign(out: Input, key: string, value: string | File): void {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m) {
    out[key] = value;
    return;
  }
  const path = [m[1] as string, ...[...(m[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1] as string)];
  if (path.length > 6) return;
  let node: Record<string, InputValue> = out;
  for (let i = 0; i < path.length; i++) {
    const part = path[i] as string;
    const last = i === path.length - 1;
    const nextIsPush = path[i + 1] === "";
    if (part === "") return; // a `[]` is handled by the segment before it
    if (last) {
      const existing = node[part];
      if (existing === undefined) node[part] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else node[part] = [existing, value];
      return;
    }
    if (nextIsPush && i + 1 === path.length - 1) {
      const existing = node[part];
      if (Array.isArray(existing)) existing.push(value);
      else node[part] = existing === undefined ? [value] : [existing as InputValue, value];
      return;
    }
    if (nextIsPush) {
      // Rails' array of hashes, `a[][name]=x&a[][value]=y&a[][name]=z`: a key goes into the last
      // hash unless that hash already has it, in which case a new hash starts.
      let list = node[part];
      if (!Array.isArray(list)) node[part] = list = [];
      const key = path[i + 2] as string;
      let last = list[list.length - 1];
      if (!last || typeof last !== "object" || Array.isArray(last) || last instanceof File || key in last) {
        last = {};
        list.push(last);
      }
      node = last as Record<string, InputValue>;
      i += 1;
      continue;
    }
    const child = node[part];
    if (!child || typeof child !== "object" || Array.isArray(child) || child instanceof File) {
      node[part] = {};
    }
    node = node[part] as Record<string, InputValue>;
  }
}

/**
 * Validates input with a zod schema. A failure is 422 with a message naming the parameter, the way
 * Mastodon answers a validation failure.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw new HttpError(422, `Validation failed: ${where}${issue?.message ?? "invalid input"}`, "validation");
}

export async function readParsed<S extends z.ZodType>(
  c: Context,
  schema: S,
  opts?: { maxFileBody?: number },
): Promise<z.output<S>> {
  return parseWith(schema, await readInput(c, opts));
}

/**
 * A numeric parameter as Rails' `to_i` reads it where Mastodon takes an integer: a fraction is
 * truncated toward zero, so a client that sends a poll's remaining time as `86376.045` is understood.
 * Null for anything that is not a finite number (which the caller then refuses).
 */
export function toInteger(v: unknown): number | null {
  if (typeof v !== "number" && typeof v !== "string") return null;
  const n = Number(v);
  // `+ 0` turns the -0 that truncating -0.5 gives into 0.
  return Number.isFinite(n) ? Math.trunc(n) + 0 : null;
}

/** zod helpers for Mastodon's loosely typed parameters (strings from forms, booleans as "1"/"true"). */
export const p = {
  bool: () =>
    z
      .union([z.boolean(), z.string()])
      .transform((v) => v === true || ["true", "1", "on", "yes"].includes(String(v).toLowerCase())),
  /** An integer; a fraction is truncated toward zero (see toInteger). */
  int: (min: number, max: number) =>
    z.preprocess((v) => toInteger(Array.isArray(v) ? v[0] : v) ?? v, z.number().int().min(min).max(max)),
  /** A single string (a repeated parameter takes its first value). */
  str: (max = 10_000) =>
    z.preprocess(
      (v) => (Array.isArray(v) ? v[0] : v),
      z.string().max(max, `is longer than ${max} characters`),
    ),
  /** An id: digits only, so nothing odd reaches a query. */
  id: () =>
    z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().regex(/^\d{1,20}$/, "is not an id")),
  /** A list from `key[]=a&key[]=b`, `key=a` or a JSON array, or an object with numeric keys. */
  list: <T extends z.ZodType>(item: T, max = 100) =>
    z.preprocess(
      (v) =>
        v === undefined
          ? undefined
          : Array.isArray(v)
            ? v
            : v && typeof v === "object" && !(v instanceof File)
              ? Object.values(v)
              : [v],
      z.array(item).max(max, `has more than ${max} items`),
    ),
};
