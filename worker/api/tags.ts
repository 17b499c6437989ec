import { Hono } from "hono";
import type { AppEnv } from "../app";

export const tagsApi = new Hono<AppEnv>();
