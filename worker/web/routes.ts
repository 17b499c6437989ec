import { Hono } from "hono";
import type { AppEnv } from "../app";
import { uris } from "../federation/uris";

export const pages = new Hono<AppEnv>();

pages.get("/", (c) => c.redirect(uris(c.var.ctx.config).profileUrl, 302));
