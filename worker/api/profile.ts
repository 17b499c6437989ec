import { sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { requireToken } from "../oauth/middleware";
import {
  AVATAR_SIZE_LIMIT,
  loadPreferences,
  preferencesFrom,
  removeProfileImage,
  serializePreferences,
  updateProfile,
} from "../services/profile";
import { movedTargets, serializeCredentialAccount } from "./entities/account";
import { p, parseWith, readInput } from "./input";

/** The owner's own profile: verify_credentials, update_credentials, avatar and header, preferences. */
export const profileApi = new Hono<AppEnv>();

async function credentialAccount(ctx: Ctx, owner: Account) {
  // The counts are on the owner's row, loaded with the instance; the preferences and the pending
  // follow requests come in one statement (two index lookups).
  const [row, moved] = await Promise.all([
    ctx.db.get<{ prefs: string | null; requests: number }>(
      sql`SELECT (SELECT value FROM settings WHERE key = 'preferences') AS prefs,
        (SELECT count(*) FROM follows WHERE target_account_id = ${owner.id} AND accepted = 0) AS requests`,
    ),
    movedTargets(ctx, [owner]),
  ]);
  const requests = Number(row?.requests ?? 0);
  const prefs = preferencesFrom(row?.prefs ?? null);
  const target = owner.movedTo ? moved.get(owner.movedTo) : undefined;
  return serializeCredentialAccount(ctx.config, owner, requests, prefs, target);
}

profileApi.get("/api/v1/accounts/verify_credentials", requireToken("profile", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  return c.json(await credentialAccount(ctx, owner));
});

const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
const image = z.preprocess(first, z.instanceof(File, { message: "must be an image file" }).optional());
const Field = z.object({
  name: p.str(255).optional().default(""),
  value: p.str(255).optional().default(""),
});

const Update = z.object({
  display_name: p.str(30).optional(),
  note: p.str(500).optional(),
  avatar: image,
  header: image,
  locked: p.bool().optional(),
  bot: p.bool().optional(),
  discoverable: p.bool().optional(),
  indexable: p.bool().optional(),
  hide_collections: p.bool().optional(),
  // An array or Rails' { "0": {...}, "1": {...} }; at most four fields, like Mastodon.
  fields_attributes: p.list(Field, 4).optional(),
  source: z
    .object({
      privacy: z.preprocess(first, z.enum(["public", "unlisted", "private", "direct"])).optional(),
      sensitive: p.bool().optional(),
      language: z
        .preprocess(first, z.string().regex(/^([a-z]{2,3})?$/, "is not an ISO 639 language code"))
        .optional(),
    })
    .optional(),
});

// Rails routes both PATCH and PUT to update; clients use PATCH.
profileApi.on(
  ["PATCH", "PUT"],
  "/api/v1/accounts/update_credentials",
  requireToken("write:accounts", { user: true }),
  async (c: Context<AppEnv>) => {
    const ctx = c.var.ctx;
    const input = parseWith(Update, await readInput(c, { maxFileBody: 2 * AVATAR_SIZE_LIMIT + 256 * 1024 }));
    const language = input.source?.language;
    const owner = await updateProfile(ctx, {
      displayName: input.display_name,
      note: input.note,
      avatar: input.avatar,
      header: input.header,
      locked: input.locked,
      bot: input.bot,
      discoverable: input.discoverable,
      indexable: input.indexable,
      hideCollections: input.hide_collections,
      fields: input.fields_attributes,
      privacy: input.source?.privacy,
      sensitive: input.source?.sensitive,
      language: language === undefined ? undefined : language || null,
    });
    return c.json(await credentialAccount(ctx, owner));
  },
);

for (const kind of ["avatar", "header"] as const) {
  profileApi.delete(`/api/v1/profile/${kind}`, requireToken("write:accounts", { user: true }), async (c) => {
    const ctx = c.var.ctx;
    const owner = await removeProfileImage(ctx, kind);
    return c.json(await credentialAccount(ctx, owner));
  });
}

profileApi.get("/api/v1/preferences", requireToken("read:accounts", { user: true }), async (c) => {
  return c.json(serializePreferences(await loadPreferences(c.var.ctx)));
});
