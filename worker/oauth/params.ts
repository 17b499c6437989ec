import type { Context } from "hono";
import { HttpError } from "../lib/errors";

const MAX_BODY = 64 * 1024;

/**
 * Request parameters as Mastodon reads them: query string, then a JSON or form body on top. Clients
 * differ (some send JSON, some forms, some query parameters on a POST), so all three are accepted.
 * Repeated keys and `key[]` become arrays.
 */
export async function readParams(c: Context): Promise<Record<string, string | string[]>> {
  const out: Record<string, string | string[]> = {};
  const add = (key: string, value: string) => {
    const k = key.replace(/\[\]$/, "");
    const existing = out[k];
    if (key.endsWith("[]") || existing !== undefined) {
      out[k] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), value];
    } else out[k] = value;
  };
  new URL(c.req.url).searchParams.forEach((v, k) => add(k, v));
  if (c.req.method === "GET" || c.req.method === "HEAD") return out;
  const type = c.req.header("content-type") ?? "";
  const declared = Number(c.req.header("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > MAX_BODY)
    throw new HttpError(413, "Request body too large", "payload_too_large");
  if (type.toLowerCase().startsWith("multipart/form-data")) {
    // masto.js sends the token request as multipart form data.
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw new HttpError(400, "Malformed multipart body", "bad_multipart");
    }
    let size = 0;
    for (const [k, v] of form.entries()) {
      if (typeof v !== "string") continue;
      size += v.length;
      if (size > MAX_BODY) throw new HttpError(413, "Request body too large", "payload_too_large");
      add(k, v);
    }
    return out;
  }
  // Decoded by hand: Request.text() warns about non-text content types such as form bodies.
  const text = new TextDecoder().decode(await c.req.arrayBuffer());
  if (text.length > MAX_BODY) throw new HttpError(413, "Request body too large", "payload_too_large");
  if (!text.trim()) return out;
  if (type.includes("application/json")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, "Body is not valid JSON", "bad_json");
    }
    if (!json || typeof json !== "object" || Array.isArray(json))
      throw new HttpError(400, "Body must be a JSON object", "bad_json");
    for (const [k, v] of Object.entries(json)) {
      if (Array.isArray(v)) out[k] = v.map(String);
      else if (v !== null && v !== undefined && typeof v !== "object") out[k] = String(v);
    }
    return out;
  }
  new URLSearchParams(text).forEach((v, k) => add(k, v));
  return out;
}

export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
