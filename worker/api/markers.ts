import { Hono } from "hono";
import type { AppEnv } from "../app";

export const markersApi = new Hono<AppEnv>();
