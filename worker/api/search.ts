import { Hono } from "hono";
import type { AppEnv } from "../app";

export const searchApi = new Hono<AppEnv>();
