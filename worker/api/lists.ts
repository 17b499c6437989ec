import { Hono } from "hono";
import type { AppEnv } from "../app";

export const listsApi = new Hono<AppEnv>();
