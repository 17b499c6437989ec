import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { Account, Status } from "../db/client";
import { badRequest, unauthorized } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import {
  findStored,
  parseHandle,
  resolveRemote,
  searchAccounts,
  searchHashtags,
  searchStatuses,
} from "../services/search";
import { presentTags } from "../services/tags";
import { searchRelayPosts } from "../services/relay-posts";
import { presentAccounts } from "./entities/account";
import { presentStatuses } from "./entities/status";
import { p, parseWith, readInput } from "./input";

/** GET /api/v2/search: accounts, statuses (FTS5) and hashtags. https://docs.joinmastodon.org/methods/search/ */
export const searchApi = new Hono<AppEnv>();

const Query = z.object({
  q: p.str(500).optional(),
  type: z
    .preprocess((v) => (Array.isArray(v) ? v[0] : v), z.enum(["accounts", "statuses", "hashtags"]))
    .optional(),
  resolve: p.bool().optional(),
  following: p.bool().optional(),
  account_id: p.id().optional(),
  exclude_unreviewed: p.bool().optional(),
  max_id: p.id().optional(),
  min_id: p.id().optional(),
  limit: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), p.int(1, 10_000)).optional(),
  offset: z.preprocess((v) => (Array.isArray(v) ? v[0] : v), p.int(0, 10_000)).optional(),
});

/** Mastodon serves search without a token too; a token, when sent, must be valid and allow read:search. */
const optionalToken = requireToken("read:search");

searchApi.get(
  "/api/v2/search",
  async (c, next) => (c.req.header("authorization") ? optionalToken(c, next) : next()),
  async (c) => {
    const ctx = c.var.ctx;
    const input = parseWith(Query, await readInput(c));
    const q = (input.q ?? "").trim();
    if (!q) throw badRequest("Missing parameter: q");
    const signedIn = !!c.var.token?.userToken;
    if (!signedIn && input.offset) {
      throw unauthorized("Search queries pagination is not supported without authentication");
    }
    if (!signedIn && input.resolve) {
      throw unauthorized(
        "Search queries that resolve remote resources are not supported without authentication",
      );
    }
    const limit = Math.min(input.limit ?? 20, 40);
    // As in Mastodon, a page past the first is only for a search of one type.
    const offset = input.type ? (input.offset ?? 0) : 0;
    const wants = (t: "accounts" | "statuses" | "hashtags") => !input.type || input.type === t;

    let accountRows: Account[] = [];
    let statusRows: Status[] = [];
    let tagNames: string[] = [];

    // A URL or a remote handle names one thing: found where stored, or fetched when asked to resolve.
    const isUrl = /^https?:\/\//i.test(q);
    const isRemoteHandle = !isUrl && !!parseHandle(q)?.domain;
    if (isUrl || (isRemoteHandle && input.resolve && signedIn)) {
      const found =
        input.resolve && signedIn ? await resolveRemote(ctx, q) : isUrl ? await findStored(ctx, q) : {};
      if (found.account && wants("accounts")) accountRows = [found.account];
      if (found.status && wants("statuses") && (signedIn || found.status.visibility === "public")) {
        statusRows = [found.status];
      }
    }
    if (!isUrl) {
      // As Mastodon's SearchService: no accounts for `#word` (or an `@` among spaces), no hashtags
      // for anything with an `@`.
      if (wants("accounts") && !q.startsWith("#") && !(q.includes("@") && q.includes(" "))) {
        const stored = await searchAccounts(ctx, {
          q,
          limit,
          offset,
          following: !!input.following && signedIn,
        });
        const seen = new Set(accountRows.map((a) => a.id));
        accountRows = [...accountRows, ...stored.filter((a) => !seen.has(a.id))].slice(0, limit);
      }
      if (wants("statuses") && signedIn) {
        const query = {
          limit,
          offset,
          accountId: input.account_id,
          maxId: input.max_id,
          minId: input.min_id,
        };
        const [stored, relayed] = await Promise.all([
          searchStatuses(ctx, { q, ...query }),
          searchRelayPosts(ctx, q, query),
        ]);
        // Newest first across both; with an offset each source is paged alike, which is close
        // enough for a search (Mastodon's own search is not exact under offsets either).
        statusRows = [...stored, ...relayed].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, limit);
      }
      if (wants("hashtags") && !q.includes("@")) {
        tagNames = await searchHashtags(ctx, q, limit, offset, { followed: signedIn });
      }
    }

    const [accountMap, statusList, hashtags] = await Promise.all([
      presentAccounts(ctx, accountRows),
      presentStatuses(ctx, statusRows),
      presentTags(ctx, tagNames),
    ]);
    return c.json({
      accounts: accountRows.map((a) => accountMap.get(a.id)).filter((a) => !!a),
      statuses: statusList,
      // Which tags the owner follows or features is the owner's business.
      hashtags: signedIn ? hashtags : hashtags.map(({ following: _f, featuring: _g, ...tag }) => tag),
    });
  },
);
