import { Hono } from "hono";
import type { AppEnv } from "../app";
import { notificationsGrouped } from "./notifications/grouped";
import { notificationsV1 } from "./notifications/v1";

/**
 * Notifications, v1 (one by one) and v2 (grouped).
 * https://docs.joinmastodon.org/methods/notifications/
 * https://docs.joinmastodon.org/methods/grouped_notifications/
 */
export const notificationsApi = new Hono<AppEnv>();
notificationsApi.route("/", notificationsV1);
notificationsApi.route("/", notificationsGrouped);
