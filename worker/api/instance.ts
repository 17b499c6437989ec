import { Hono } from "hono";
import { count, countDistinct, isNull, and, eq } from "drizzle-orm";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import { accounts, statuses } from "../db/schema";
import { uris } from "../federation/uris";
import { accountCounts } from "../services/counts";
import { MISSING_IMAGE_PATH, serializeAccount } from "./entities/account";

/**
 * Server information for clients, v1 and v2: both must exist, clients differ in which they read.
 * https://docs.joinmastodon.org/methods/instance/
 */
export const instanceApi = new Hono<AppEnv>();

export const PERCH_VERSION = "0.1.0";
/** The Mastodon version clients should assume, as Mastodon-compatible servers announce it. */
export const VERSION = `4.5.0 (compatible; Perch ${PERCH_VERSION})`;

/** Limits the clients read before they let the owner post. */
function configuration(ctx: Ctx) {
  return {
    urls: { streaming: `wss://${ctx.config.webDomain}` },
    vapid: { public_key: "" },
    accounts: { max_featured_tags: 10, max_pinned_statuses: 5 },
    statuses: { max_characters: 5000, max_media_attachments: 4, characters_reserved_per_url: 23 },
    media_attachments: {
      supported_mime_types: ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "audio/mpeg"],
      image_size_limit: 16_777_216,
      image_matrix_limit: 33_177_600,
      video_size_limit: 103_809_024,
      video_frame_rate_limit: 120,
      video_matrix_limit: 8_294_400,
      description_limit: 1500,
    },
    polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2_629_746 },
    translation: { enabled: false },
  };
}

async function owner(ctx: Ctx) {
  const { owner } = await ctx.instance();
  return serializeAccount(ctx.config, owner, await accountCounts(ctx, owner.id));
}

function contactEmail(ctx: Ctx): string {
  return ctx.env.CONTACT_EMAIL || `${ctx.config.username}@${ctx.config.accountDomain.replace(/:\d+$/, "")}`;
}

function title(ctx: Ctx, displayName: string) {
  return displayName ? `${displayName} on Perch` : ctx.config.webDomain;
}

instanceApi.get("/api/v2/instance", async (c) => {
  const ctx = c.var.ctx;
  const base = uris(ctx.config).base;
  const account = await owner(ctx);
  return c.json({
    domain: ctx.config.accountDomain,
    title: title(ctx, account.display_name),
    version: VERSION,
    source_url: `${base}/`,
    description: `A single-user fediverse server for @${ctx.config.username}@${ctx.config.accountDomain}.`,
    usage: { users: { active_month: 1 } },
    thumbnail: { url: `${base}${MISSING_IMAGE_PATH}` },
    icon: [],
    languages: ["en"],
    configuration: configuration(ctx),
    registrations: { enabled: false, approval_required: false, message: null, url: null },
    api_versions: { mastodon: 2 },
    contact: { email: contactEmail(ctx), account },
    rules: [],
  });
});

instanceApi.get("/api/v1/instance", async (c) => {
  const ctx = c.var.ctx;
  const base = uris(ctx.config).base;
  const account = await owner(ctx);
  const [stats] = await ctx.db
    .select({ posts: count(), domains: countDistinct(accounts.domain) })
    .from(statuses)
    .innerJoin(accounts, eq(accounts.id, statuses.accountId))
    .where(and(isNull(statuses.deletedAt), isNull(statuses.reblogOfId)));
  return c.json({
    uri: ctx.config.accountDomain,
    title: title(ctx, account.display_name),
    short_description: `A single-user fediverse server for @${ctx.config.username}@${ctx.config.accountDomain}.`,
    description: "",
    email: contactEmail(ctx),
    version: VERSION,
    urls: { streaming_api: `wss://${ctx.config.webDomain}` },
    stats: {
      user_count: 1,
      status_count: account.statuses_count,
      domain_count: Math.max(0, (stats?.domains ?? 1) - 1),
    },
    thumbnail: `${base}${MISSING_IMAGE_PATH}`,
    languages: ["en"],
    registrations: false,
    approval_required: false,
    invites_enabled: false,
    configuration: configuration(ctx),
    contact_account: account,
    rules: [],
  });
});

/** A 1×1 grey PNG, served where Mastodon serves its "missing" avatar and header. */
const MISSING_PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII="),
  (ch) => ch.charCodeAt(0),
);

instanceApi.get(MISSING_IMAGE_PATH, (c) => {
  c.header("content-type", "image/png");
  c.header("cache-control", "public, max-age=604800, immutable");
  return c.body(MISSING_PNG);
});
