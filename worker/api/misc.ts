import { Hono } from "hono";
import type { AppEnv } from "../app";

export const miscApi = new Hono<AppEnv>();
