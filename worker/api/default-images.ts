import { Hono } from "hono";
import type { AppEnv } from "../app";
import { MISSING_AVATAR_PNG, MISSING_HEADER_PNG } from "./default-images-data";

/** Where Mastodon serves the stand-ins for an account without an avatar or header. */
export const MISSING_AVATAR_PATH = "/avatars/original/missing.png";
export const MISSING_HEADER_PATH = "/headers/original/missing.png";

const decoded = new Map<string, Uint8Array<ArrayBuffer>>();

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  let out = decoded.get(base64);
  if (!out) {
    out = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    decoded.set(base64, out);
  }
  return out;
}

/**
 * The default avatar (a grey figure on light grey) and header (plain light grey-blue), made by
 * scripts/default-images.mjs. Cached for a day, not forever: the images may change with a release
 * while their URLs, which clients and other servers keep, stay the same.
 */
export const defaultImages = new Hono<AppEnv>();

for (const [path, base64] of [
  [MISSING_AVATAR_PATH, MISSING_AVATAR_PNG],
  [MISSING_HEADER_PATH, MISSING_HEADER_PNG],
] as const) {
  defaultImages.get(path, (c) => {
    c.header("content-type", "image/png");
    c.header("cache-control", "public, max-age=86400");
    c.header("x-content-type-options", "nosniff");
    return c.body(bytes(base64));
  });
}
