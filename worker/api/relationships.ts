import { Hono } from "hono";
import type { AppEnv } from "../app";

export const relationshipsApi = new Hono<AppEnv>();
