import { eq } from "drizzle-orm";
import { find } from "linkifyjs";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { accounts, settings, type Visibility } from "../db/schema";
import { renderActor } from "../federation/actor";
import { PUBLIC } from "../federation/jsonld";
import { uris } from "../federation/uris";
import { escapeHtml } from "../lib/html/sanitize";
import { cleanText } from "../lib/text/clean";
import { renderText } from "../lib/text/format";
import { HttpError, unprocessable } from "../lib/errors";
import { newId } from "../lib/ids";
import { sniffFile } from "./media";
import { deliver } from "./delivery";
import { mediaUrl } from "../api/entities/media";

/** The owner's posting defaults and profile options without a column of their own. */
export interface Preferences {
  privacy: Visibility;
  sensitive: boolean;
  language: string | null;
  hideCollections: boolean;
}

const PREFERENCES_KEY = "preferences";
const DEFAULTS: Preferences = { privacy: "public", sensitive: false, language: null, hideCollections: false };
const VISIBILITIES = ["public", "unlisted", "private", "direct"] as const;

async function rawPreferences(ctx: Ctx): Promise<Record<string, unknown>> {
  const row = (await ctx.db.select().from(settings).where(eq(settings.key, PREFERENCES_KEY)).limit(1))[0];
  return asObject(row?.value);
}

function asObject(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The preferences from the stored value of the settings row (its JSON text, as a query that reads
 * the row itself returns it), for a caller that reads it together with other figures.
 */
export function preferencesFrom(stored: unknown): Preferences {
  let v = stored;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      v = {};
    }
  }
  return parsePreferences(asObject(v));
}

/** The owner's preferences (settings key "preferences"), with defaults for anything unset. */
export async function loadPreferences(ctx: Ctx): Promise<Preferences> {
  return parsePreferences(await rawPreferences(ctx));
}

function parsePreferences(v: Partial<Record<keyof Preferences, unknown>>): Preferences {
  return {
    privacy: VISIBILITIES.includes(v.privacy as Visibility) ? (v.privacy as Visibility) : DEFAULTS.privacy,
    sensitive: v.sensitive === true,
    language: typeof v.language === "string" && /^[a-z]{2,3}$/.test(v.language) ? v.language : null,
    hideCollections: v.hideCollections === true,
  };
}

/** Writes the preferences, keeping any other keys stored under "preferences". */
function savePreferences(ctx: Ctx, raw: Record<string, unknown>, prefs: Preferences) {
  const value = { ...raw, ...prefs };
  return ctx.db
    .insert(settings)
    .values({ key: PREFERENCES_KEY, value })
    .onConflictDoUpdate({ target: settings.key, set: { value } });
}

/** Mastodon's Preferences entity. */
export function serializePreferences(prefs: Preferences) {
  return {
    "posting:default:visibility": prefs.privacy,
    "posting:default:sensitive": prefs.sensitive,
    "posting:default:language": prefs.language,
    "reading:expand:media": "default",
    "reading:expand:spoilers": false,
  };
}

/** Escaped text with http(s) URLs as links. */
function linkify(text: string): string {
  let out = "";
  let at = 0;
  for (const m of find(text, "url")) {
    if (!/^https?:\/\//i.test(m.value)) continue;
    out += escapeHtml(text.slice(at, m.start));
    out += `<a href="${escapeHtml(m.href)}" target="_blank" rel="nofollow noopener me">${escapeHtml(m.value)}</a>`;
    at = m.end;
  }
  return out + escapeHtml(text.slice(at));
}

/** A profile field value as HTML: control characters removed, escaped, with links. */
export function fieldValueToHtml(text: string): string {
  return linkify(cleanText(text).trim());
}

export const AVATAR_SIZE_LIMIT = 8 * 1024 * 1024;

/** Stores an avatar or header image in R2 and answers its public URL. */
async function storeProfileImage(ctx: Ctx, kind: "avatar" | "header", file: File): Promise<string> {
  const what = kind === "avatar" ? "Avatar" : "Header";
  const type = await sniffFile(file, what);
  if (type.kind !== "image") throw unprocessable(`Validation failed: ${what} must be an image`);
  if (file.size > AVATAR_SIZE_LIMIT) {
    throw new HttpError(422, `Validation failed: ${what} file size must be less than 8 MB`, "too_large");
  }
  const key = `profile/${kind}-${newId()}.${type.ext}`;
  await ctx.env.MEDIA.put(key, file, { httpMetadata: { contentType: type.mime } });
  return mediaUrl(ctx.config, key);
}

/** The R2 key of an image URL this server serves, or null for anything else. */
function ownKey(ctx: Ctx, url: string | null): string | null {
  if (!url) return null;
  const prefix = mediaUrl(ctx.config, "");
  return url.startsWith(prefix) ? url.slice(prefix.length) : null;
}

export interface ProfileChanges {
  displayName?: string;
  note?: string;
  avatar?: File;
  header?: File;
  locked?: boolean;
  bot?: boolean;
  discoverable?: boolean;
  indexable?: boolean;
  hideCollections?: boolean;
  fields?: { name: string; value: string }[];
  privacy?: Visibility;
  sensitive?: boolean;
  language?: string | null;
}

/**
 * Applies a profile update to the owner's account row and preferences in one batch, then federates
 * an Update of the actor to the followers. Images are written to R2 first and the replaced ones
 * removed afterwards, so a failed update never leaves the profile pointing at a missing file.
 */
export async function updateProfile(ctx: Ctx, changes: ProfileChanges): Promise<Account> {
  const { owner } = await ctx.instance();
  const set: Partial<typeof accounts.$inferInsert> = {};
  // Text is stored without the control characters Perch never stores (lib/text/clean).
  if (changes.displayName !== undefined) set.displayName = cleanText(changes.displayName).trim();
  // A bio is formatted like a post: paragraphs, links and hashtags, everything else escaped.
  if (changes.note !== undefined) {
    set.note = renderText(cleanText(changes.note), { base: uris(ctx.config).base });
  }
  if (changes.locked !== undefined) set.manuallyApprovesFollowers = changes.locked;
  if (changes.bot !== undefined) set.type = changes.bot ? "Service" : "Person";
  if (changes.discoverable !== undefined) set.discoverable = changes.discoverable;
  if (changes.indexable !== undefined) set.indexable = changes.indexable;
  if (changes.fields !== undefined) {
    set.fields = changes.fields
      .map((f) => ({ name: cleanText(f.name).trim(), value: fieldValueToHtml(f.value) }))
      .filter((f) => f.name !== "" || f.value !== "");
  }
  const written: string[] = [];
  const replaced: string[] = [];
  try {
    if (changes.avatar) {
      set.avatarUrl = await storeProfileImage(ctx, "avatar", changes.avatar);
      written.push(ownKey(ctx, set.avatarUrl) as string);
      const old = ownKey(ctx, owner.avatarUrl);
      if (old) replaced.push(old);
    }
    if (changes.header) {
      set.headerUrl = await storeProfileImage(ctx, "header", changes.header);
      written.push(ownKey(ctx, set.headerUrl) as string);
      const old = ownKey(ctx, owner.headerUrl);
      if (old) replaced.push(old);
    }
    const raw = await rawPreferences(ctx);
    const prefs = parsePreferences(raw);
    const next: Preferences = {
      privacy: changes.privacy ?? prefs.privacy,
      sensitive: changes.sensitive ?? prefs.sensitive,
      language: changes.language !== undefined ? changes.language : prefs.language,
      hideCollections: changes.hideCollections ?? prefs.hideCollections,
    };
    set.updatedAt = new Date().toISOString();
    await ctx.db.batch([
      ctx.db.update(accounts).set(set).where(eq(accounts.id, owner.id)),
      savePreferences(ctx, raw, next),
    ]);
  } catch (err) {
    if (written.length) await ctx.env.MEDIA.delete(written).catch(() => undefined);
    throw err;
  }
  if (replaced.length) await ctx.env.MEDIA.delete(replaced).catch(() => undefined);
  return publishProfile(ctx);
}

/** Removes the avatar or header (back to Mastodon's stand-in image) and federates the change. */
export async function removeProfileImage(ctx: Ctx, kind: "avatar" | "header"): Promise<Account> {
  const { owner } = await ctx.instance();
  const current = kind === "avatar" ? owner.avatarUrl : owner.headerUrl;
  if (!current) return owner;
  await ctx.db
    .update(accounts)
    .set(kind === "avatar" ? { avatarUrl: null } : { headerUrl: null })
    .where(eq(accounts.id, owner.id));
  const key = ownKey(ctx, current);
  if (key) await ctx.env.MEDIA.delete(key).catch(() => undefined);
  return publishProfile(ctx);
}

/**
 * Re-reads the owner and sends an Update of the actor document to every follower, as Mastodon does
 * after a profile edit and after aliases or a move change.
 */
export async function publishProfile(ctx: Ctx): Promise<Account> {
  const instance = await ctx.instance();
  const fresh = (await ctx.db.select().from(accounts).where(eq(accounts.id, instance.owner.id)).limit(1))[0];
  if (!fresh) throw new Error("owner account missing");
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${u.actor}#updates/${newId()}`,
      type: "Update",
      actor: u.actor,
      published: new Date().toISOString(),
      to: [PUBLIC],
      object: renderActor(ctx.config, { row: instance.row, owner: fresh }),
    },
    { followers: true },
  );
  return fresh;
}
