import type { z } from "zod";
import { HttpError, unprocessable } from "./errors";

/**
 * A small JSON request body checked against a schema, for the owner's JSON endpoints: 413 over
 * `maxBytes`, 422 with the failing fields for JSON that is malformed or does not fit. An empty
 * body is `{}`.
 */
export async function readJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
  maxBytes: number,
): Promise<z.infer<T>> {
  const text = await request.text();
  if (text.length > maxBytes) throw new HttpError(413, "Body too large", "payload_too_large");
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw unprocessable("Body is not valid JSON", "bad_json");
  }
  const r = schema.safeParse(json);
  if (!r.success)
    throw unprocessable(
      `Validation failed: ${r.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`,
    );
  return r.data;
}
