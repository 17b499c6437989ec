import { Hono } from "hono";
import type { AppEnv } from "../app";

export const mediaApi = new Hono<AppEnv>();
