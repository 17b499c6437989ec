import { Hono } from "hono";
import type { AppEnv } from "../app";

export const trendsApi = new Hono<AppEnv>();
