import { Hono } from "hono";
import type { AppEnv } from "../app";

export const notificationsApi = new Hono<AppEnv>();
