import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { unprocessable } from "../lib/errors";
import { serveObject } from "../lib/media/serve";
import { requireToken } from "../oauth/middleware";
import {
  createMedia,
  deleteMedia,
  findUnattachedMedia,
  MAX_UPLOAD_BODY,
  updateMedia,
} from "../services/media";
import { serializeMediaRow } from "./entities/media";
import { p, parseWith, readInput } from "./input";

/** Uploads (https://docs.joinmastodon.org/methods/media/) and the files themselves under /media/. */
export const mediaApi = new Hono<AppEnv>();

const file = z.instanceof(File, { message: "must be a file" });
const optionalText = (max: number) => p.str(max).optional();

const Upload = z.object({
  file: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), file.optional()),
  thumbnail: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), file.optional()),
  description: optionalText(1500),
  focus: optionalText(100),
});

const Change = z.object({
  thumbnail: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), file.optional()),
  description: optionalText(1500),
  focus: optionalText(100),
});

async function upload(c: Context<AppEnv>) {
  const input = parseWith(Upload, await readInput(c, { maxFileBody: MAX_UPLOAD_BODY }));
  if (!input.file) throw unprocessable("Validation failed: File can't be blank");
  const row = await createMedia(c.var.ctx, {
    file: input.file,
    thumbnail: input.thumbnail,
    description: input.description,
    focus: input.focus,
  });
  return c.json(serializeMediaRow(c.var.ctx.config, row));
}

const write = requireToken("write:media", { user: true });

mediaApi.post("/api/v1/media", write, upload);
mediaApi.post("/api/v2/media", write, upload);

mediaApi.get("/api/v1/media/:id", write, async (c) => {
  const row = await findUnattachedMedia(c.var.ctx, c.req.param("id"));
  return c.json(serializeMediaRow(c.var.ctx.config, row));
});

mediaApi.put("/api/v1/media/:id", write, async (c) => {
  const input = parseWith(Change, await readInput(c, { maxFileBody: MAX_UPLOAD_BODY }));
  const row = await updateMedia(c.var.ctx, c.req.param("id"), input);
  return c.json(serializeMediaRow(c.var.ctx.config, row));
});

mediaApi.delete("/api/v1/media/:id", write, async (c) => {
  await deleteMedia(c.var.ctx, c.req.param("id"));
  return c.json({});
});

/** Files in R2, public, with the headers of serveObject. */
mediaApi.on(["GET", "HEAD"], "/media/*", async (c) => {
  const path = new URL(c.req.url).pathname;
  let key: string;
  try {
    key = decodeURIComponent(path.slice("/media/".length));
  } catch {
    key = "";
  }
  return serveObject(c.env.MEDIA, key, c.req.raw);
});
