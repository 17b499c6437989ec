import { Hono } from "hono";
import type { AppEnv } from "../app";

export const conversationsApi = new Hono<AppEnv>();
