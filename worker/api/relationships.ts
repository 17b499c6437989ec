import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { notFound } from "../lib/errors";
import { requireToken } from "../oauth/middleware";
import {
  blockedAccounts,
  blockedDomainPage,
  endorsedAccounts,
  followRequests,
  mutedAccounts,
} from "../services/account-queries";
import {
  featureTag,
  listFeaturedTags,
  presentFeaturedTags,
  suggestedFeaturedTags,
  unfeatureTag,
} from "../services/featured-tags";
import { answerFollowRequest } from "../services/following";
import { blockDomain, unblockDomain } from "../services/relationships";
import { presentTags } from "../services/tags";
import { accountParam, pagedAccountsJson } from "./accounts";
import { presentRelationship } from "./entities/relationship";
import { p, readParsed } from "./input";
import { readPage, setLink } from "./pagination";

/**
 * The owner's relationship lists: follow requests, blocks, mutes, domain blocks, endorsements and
 * featured hashtags. https://docs.joinmastodon.org/methods/follow_requests/ and neighbours.
 */
export const relationshipsApi = new Hono<AppEnv>();

const accountsPage = { defaultLimit: 40, maxLimit: 80 };

relationshipsApi.get("/api/v1/follow_requests", requireToken("read:follows", { user: true }), async (c) =>
  pagedAccountsJson(c, await followRequests(c.var.ctx, readPage(c, accountsPage))),
);

for (const [action, accept] of [
  ["authorize", true],
  ["reject", false],
] as const) {
  relationshipsApi.post(
    `/api/v1/follow_requests/:id{[0-9]+}/${action}`,
    requireToken("write:follows", { user: true }),
    async (c) => {
      const account = await accountParam(c);
      if (!(await answerFollowRequest(c.var.ctx, account, accept))) throw notFound();
      return c.json(await presentRelationship(c.var.ctx, account));
    },
  );
}

relationshipsApi.get("/api/v1/blocks", requireToken("read:blocks", { user: true }), async (c) =>
  pagedAccountsJson(c, await blockedAccounts(c.var.ctx, readPage(c, accountsPage))),
);

relationshipsApi.get("/api/v1/mutes", requireToken("read:mutes", { user: true }), async (c) =>
  pagedAccountsJson(c, await mutedAccounts(c.var.ctx, readPage(c, accountsPage))),
);

relationshipsApi.get("/api/v1/endorsements", requireToken("read:accounts", { user: true }), async (c) =>
  pagedAccountsJson(c, await endorsedAccounts(c.var.ctx, readPage(c, accountsPage))),
);

relationshipsApi.get("/api/v1/domain_blocks", requireToken("read:blocks", { user: true }), async (c) => {
  const rows = await blockedDomainPage(c.var.ctx, readPage(c, { defaultLimit: 100, maxLimit: 200 }));
  setLink(
    c,
    rows.map((r) => r.pageId),
  );
  return c.json(rows.map((r) => r.domain));
});

const DomainInput = z.object({ domain: p.str(300).pipe(z.string().min(1, "is missing")) });
relationshipsApi.post("/api/v1/domain_blocks", requireToken("write:blocks", { user: true }), async (c) => {
  const { domain } = await readParsed(c, DomainInput);
  await blockDomain(c.var.ctx, domain);
  return c.json({});
});

relationshipsApi.delete("/api/v1/domain_blocks", requireToken("write:blocks", { user: true }), async (c) => {
  const { domain } = await readParsed(c, DomainInput);
  await unblockDomain(c.var.ctx, domain);
  return c.json({});
});

relationshipsApi.get("/api/v1/featured_tags", requireToken("read:accounts", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  return c.json(await presentFeaturedTags(ctx, await listFeaturedTags(ctx)));
});

relationshipsApi.get(
  "/api/v1/featured_tags/suggestions",
  requireToken("read:accounts", { user: true }),
  async (c) => {
    const ctx = c.var.ctx;
    return c.json(await presentTags(ctx, await suggestedFeaturedTags(ctx)));
  },
);

const TagInput = z.object({ name: p.str(200).pipe(z.string().min(1, "is missing")) });
relationshipsApi.post("/api/v1/featured_tags", requireToken("write:accounts", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const { name } = await readParsed(c, TagInput);
  const row = await featureTag(ctx, name);
  return c.json((await presentFeaturedTags(ctx, [row]))[0]);
});

relationshipsApi.delete(
  "/api/v1/featured_tags/:id{[0-9]+}",
  requireToken("write:accounts", { user: true }),
  async (c) => {
    if (!(await unfeatureTag(c.var.ctx, c.req.param("id")))) throw notFound();
    return c.json({});
  },
);
