import type { Context } from "hono";
import { ACTIVITY_CONTENT_TYPE, wantsActivityJson } from "../jsonld";

/** An ActivityStreams JSON answer. */
export function activityJson(c: Context, doc: unknown, status: 200 | 410 = 200): Response {
  c.header("content-type", `${ACTIVITY_CONTENT_TYPE}; charset=utf-8`);
  c.header("vary", "Accept");
  c.header("cache-control", "max-age=60");
  return c.body(JSON.stringify(doc), status);
}

/** Content negotiation between ActivityStreams JSON and the HTML page for the same URL. */
export function negotiate(c: Context): "json" | "html" {
  c.header("vary", "Accept");
  return wantsActivityJson(c.req.header("accept")) ? "json" : "html";
}
