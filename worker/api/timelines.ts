import { Hono } from "hono";
import type { AppEnv } from "../app";

export const timelinesApi = new Hono<AppEnv>();
