import { Hono } from "hono";
import type { AppEnv } from "../app";

export const profileApi = new Hono<AppEnv>();
