import { Hono } from "hono";
import type { AppEnv } from "../app";

export const statusesApi = new Hono<AppEnv>();
