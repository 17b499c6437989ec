import { Hono } from "hono";
import type { AppEnv } from "../app";
import { statusesActions } from "./statuses/actions";
import { statusesCore } from "./statuses/core";
import { statusesLists } from "./statuses/lists";
import { pollsApi } from "./statuses/polls";

/**
 * Statuses, polls, bookmarks and favourites of the Mastodon client API.
 * https://docs.joinmastodon.org/methods/statuses/
 */
export const statusesApi = new Hono<AppEnv>();
statusesApi.route("/", statusesCore);
statusesApi.route("/", statusesActions);
statusesApi.route("/", pollsApi);
statusesApi.route("/", statusesLists);
