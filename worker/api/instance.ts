import { Hono } from "hono";
import { count, countDistinct, isNull, and, eq, gte, lt, asc, isNotNull, or } from "drizzle-orm";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import { accounts, oauthTokens, statuses } from "../db/schema";
import { notFound } from "../lib/errors";
import { minIdAt } from "../lib/ids";
import { uris } from "../federation/uris";
import {
  DESCRIPTION_LIMIT,
  IMAGE_SIZE_LIMIT,
  SUPPORTED_MIME_TYPES,
  VIDEO_SIZE_LIMIT,
} from "../services/media";
import { defaultImages, MISSING_HEADER_PATH } from "./default-images";
import { presentAccount } from "./entities/account";

/**
 * Server information for clients, v1 and v2: both must exist, clients differ in which they read.
 * https://docs.joinmastodon.org/methods/instance/
 */
export const instanceApi = new Hono<AppEnv>();

export const PERCH_VERSION = "0.1.0";
/** The Mastodon version clients should assume, as Mastodon-compatible servers announce it. */
export const VERSION = `4.5.0 (compatible; Perch ${PERCH_VERSION})`;

/**
 * Limits the clients read before they let the owner post. There is no streaming server (yet), so no
 * streaming URL: `null` is what Mastodon's schema allows for it, and clients (Phanpy, masto.js apps,
 * Ice Cubes) then refresh over the REST API instead of opening a socket that would fail.
 */
function configuration() {
  return {
    urls: { streaming: null },
    vapid: { public_key: "" },
    accounts: { max_featured_tags: 10, max_pinned_statuses: 5 },
    statuses: { max_characters: 5000, max_media_attachments: 4, characters_reserved_per_url: 23 },
    media_attachments: {
      supported_mime_types: SUPPORTED_MIME_TYPES,
      image_size_limit: IMAGE_SIZE_LIMIT,
      image_matrix_limit: 33_177_600,
      video_size_limit: VIDEO_SIZE_LIMIT,
      video_frame_rate_limit: 120,
      video_matrix_limit: 8_294_400,
      description_limit: DESCRIPTION_LIMIT,
    },
    polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2_629_746 },
    translation: { enabled: false },
  };
}

async function owner(ctx: Ctx) {
  const { owner } = await ctx.instance();
  return presentAccount(ctx, owner);
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
    thumbnail: { url: `${base}${MISSING_HEADER_PATH}` },
    icon: [],
    languages: ["en"],
    configuration: configuration(),
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
  // Known domains, as Mastodon counts them: from the accounts Perch knows (not from every post).
  const [stats] = await ctx.db
    .select({ domains: countDistinct(accounts.domain) })
    .from(accounts)
    .where(eq(accounts.local, false));
  return c.json({
    uri: ctx.config.accountDomain,
    title: title(ctx, account.display_name),
    short_description: `A single-user fediverse server for @${ctx.config.username}@${ctx.config.accountDomain}.`,
    description: "",
    email: contactEmail(ctx),
    version: VERSION,
    // No `streaming_api`: the v1 entity has no way to say "none", and an absent URL is what Elk,
    // Whalebird and other v1 readers check before connecting (see the test for the one schema gap).
    urls: {},
    stats: {
      user_count: 1,
      status_count: account.statuses_count,
      domain_count: stats?.domains ?? 0,
    },
    thumbnail: `${base}${MISSING_HEADER_PATH}`,
    languages: ["en"],
    registrations: false,
    approval_required: false,
    invites_enabled: false,
    configuration: configuration(),
    contact_account: account,
    rules: [],
  });
});

instanceApi.route("/", defaultImages);

// ——— The rest of the instance surface: https://docs.joinmastodon.org/methods/instance/ ———

/** Domains of the remote accounts Perch has stored, as Mastodon lists the servers it knows. */
instanceApi.get("/api/v1/instance/peers", async (c) => {
  const rows = await c.var.ctx.db
    .selectDistinct({ domain: accounts.domain })
    .from(accounts)
    .where(eq(accounts.local, false))
    .orderBy(asc(accounts.domain));
  return c.json(rows.map((r) => r.domain));
});

const WEEK = 7 * 24 * 60 * 60 * 1000;

/** Midnight UTC of the Monday that starts the week of `t`, as Rails' beginning_of_week. */
function weekStart(t: number): number {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

/**
 * Twelve weeks of activity, this week first: local posts, and logins as 1 when one of the owner's
 * tokens was issued or used (oauth_tokens.last_used_at) that week (a single user logs in or does not); registrations stay closed. Counts
 * are strings, as Mastodon serves them.
 */
instanceApi.get("/api/v1/instance/activity", async (c) => {
  const ctx = c.var.ctx;
  const current = weekStart(Date.now());
  const weeks = Array.from({ length: 12 }, (_, i) => current - i * WEEK);
  const oldest = weeks[weeks.length - 1] as number;
  const counts = weeks.map((start) =>
    ctx.db
      .select({ n: count() })
      .from(statuses)
      .where(
        and(
          eq(statuses.local, true),
          gte(statuses.id, minIdAt(start)),
          lt(statuses.id, minIdAt(start + WEEK)),
          isNull(statuses.reblogOfId),
          isNull(statuses.deletedAt),
        ),
      ),
  );
  const [tokens, ...posts] = await ctx.db.batch([
    ctx.db
      .select({ used: oauthTokens.lastUsedAt, created: oauthTokens.createdAt })
      .from(oauthTokens)
      .where(
        and(
          eq(oauthTokens.userToken, true),
          or(
            gte(oauthTokens.createdAt, new Date(oldest).toISOString()),
            and(
              isNotNull(oauthTokens.lastUsedAt),
              gte(oauthTokens.lastUsedAt, new Date(oldest).toISOString()),
            ),
          ),
        ),
      ),
    ...counts,
  ]);
  // A login is a token issued (the OAuth sign-in) or used that week.
  const used = tokens.flatMap((t) => [Date.parse(t.created), Date.parse(t.used ?? "")]);
  return c.json(
    weeks.map((start, i) => ({
      week: String(start / 1000),
      statuses: String(posts[i]?.[0]?.n ?? 0),
      logins: used.some((t) => t >= start && t < start + WEEK) ? "1" : "0",
      registrations: "0",
    })),
  );
});

/** Perch has no server rules: the one person on it makes them. */
instanceApi.get("/api/v1/instance/rules", (c) => c.json([]));

/** Moderated domains are not published. */
instanceApi.get("/api/v1/instance/domain_blocks", (c) => c.json([]));

instanceApi.get("/api/v1/instance/extended_description", async (c) => {
  const ctx = c.var.ctx;
  const { row } = await ctx.instance();
  const handle = `@${ctx.config.username}@${ctx.config.accountDomain}`;
  return c.json({
    updated_at: new Date(Date.parse(row.createdAt) || Date.now()).toISOString(),
    content: `<p>This is Perch, a single-user fediverse server: the home of ${escapeHtml(handle)}. It has no sign-ups.</p>`,
  });
});

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** There is no published privacy policy or terms of service: 404, as Mastodon answers without terms. */
instanceApi.get("/api/v1/instance/privacy_policy", () => {
  throw notFound();
});
instanceApi.get("/api/v1/instance/terms_of_service", () => {
  throw notFound();
});
instanceApi.get("/api/v1/instance/terms_of_service/:date", () => {
  throw notFound();
});

/** Translation is not configured (configuration.translation.enabled is false). */
instanceApi.get("/api/v1/instance/translation_languages", (c) => c.json({}));

/** ISO 639-1 codes, the languages a post can be tagged with, as Mastodon offers them. */
const LANGUAGE_CODES = (
  "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz " +
  "ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io " +
  "is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr " +
  "ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si " +
  "sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh " +
  "yi yo za zh zu"
).split(" ");

let languageList: { code: string; name: string }[] | undefined;

instanceApi.get("/api/v1/instance/languages", (c) => {
  if (!languageList) {
    let names: Intl.DisplayNames | undefined;
    try {
      names = new Intl.DisplayNames(["en"], { type: "language" });
    } catch {
      names = undefined;
    }
    languageList = LANGUAGE_CODES.map((code) => ({ code, name: names?.of(code) ?? code }));
  }
  return c.json(languageList);
});
