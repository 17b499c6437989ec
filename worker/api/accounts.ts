import { Hono } from "hono";
import type { AppEnv } from "../app";
import { requireToken } from "../oauth/middleware";
import { accountCounts, pendingFollowRequests } from "../services/counts";
import { serializeCredentialAccount } from "./entities/account";

/** https://docs.joinmastodon.org/methods/accounts/ */
export const accountsApi = new Hono<AppEnv>();

accountsApi.get("/api/v1/accounts/verify_credentials", requireToken("profile", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  const [counts, requests] = await Promise.all([
    accountCounts(ctx, owner.id),
    pendingFollowRequests(ctx, owner.id),
  ]);
  return c.json(serializeCredentialAccount(ctx.config, owner, counts, requests));
});
