import { Hono } from "hono";
import type { AppEnv } from "../app";

export const filtersApi = new Hono<AppEnv>();
