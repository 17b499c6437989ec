import type { Context } from "hono";
import { readInput } from "../api/input";

/**
 * OAuth parameters as Mastodon reads them: the query string, then a JSON, form or multipart body on
 * top (clients differ; masto.js sends multipart). The API's reader does the reading; OAuth only
 * keeps the flat values: strings, and lists of strings from repeated keys or `key[]`.
 */
export async function readParams(c: Context): Promise<Record<string, string | string[]>> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(await readInput(c))) {
    if (typeof v === "string") out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === "string");
  }
  return out;
}

export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
