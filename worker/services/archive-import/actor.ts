/**
 * The old profile of an archive's actor.json: name, bio, fields, avatar and header. It is read after
 * the outbox, its images copied out of the archive into staging objects (so the archive itself can be
 * deleted before the owner decides), and shown beside the current profile. Nothing changes until the
 * owner presses "use this profile" (applyArchivedProfile); "keep mine" drops the staged images.
 * Untrusted: every field is validated, the bio and fields are sanitized, the images sniffed.
 * https://docs.joinmastodon.org/user/moving/#export
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { archiveImports, type ArchivedProfile } from "../../db/schema";
import { ArchiveError } from "../../lib/archive/errors";
import type { ZipReader } from "../../lib/archive/zip/reader";
import type { EntryLookup } from "./directory";
import { sanitizeHtml } from "../../lib/html/sanitize";
import { SNIFF_BYTES, sniff } from "../../lib/media/sniff";
import { cleanText, truncate } from "../../lib/text/clean";
import { AVATAR_SIZE_LIMIT, updateProfile } from "../profile";
import { htmlToPlain } from "../search-index";
import type { Skip } from "./writes";

/** Mastodon's own limits for a profile (update_credentials): what applying it must fit. */
const NAME_MAX = 30;
const BIO_MAX = 500;
const FIELDS_MAX = 4;
const FIELD_MAX = 255;
/** actor.json is a few KB; one far larger is not Mastodon's. */
const ACTOR_MAX_BYTES = 1024 * 1024;

const Image = z.looseObject({ url: z.string().min(1).max(2048) });
const ActorJson = z.looseObject({
  name: z.string().max(10_000).nullish().catch(undefined),
  summary: z.string().max(100_000).nullish().catch(undefined),
  attachment: z
    .array(z.unknown())
    .max(100)
    .optional()
    .catch(undefined)
    .transform((a) =>
      (a ?? []).flatMap((f) => {
        const parsed = z
          .looseObject({
            type: z.literal("PropertyValue"),
            name: z.string().max(10_000),
            value: z.string().max(10_000),
          })
          .safeParse(f);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
  icon: Image.nullish().catch(undefined),
  image: Image.nullish().catch(undefined),
});

/** The old profile, its images staged under imports/<job>/; skips for what could not be taken. */
export async function readArchivedProfile(
  ctx: Ctx,
  importId: string,
  zip: Pick<ZipReader, "open">,
  lookup: (paths: string[]) => Promise<EntryLookup>,
): Promise<{ profile: ArchivedProfile | null; skips: Skip[] }> {
  const skips: Skip[] = [];
  const skip = (ref: string, reason: string) =>
    skips.push({ item: -1, kind: "profile", ref: ref.slice(0, 2048), reason });
  const entry = (await lookup(["actor.json"])).get("actor.json");
  if (!entry) return { profile: null, skips };
  let raw: unknown;
  try {
    raw = JSON.parse(await new Response(zip.open(entry, { maxSize: ACTOR_MAX_BYTES })).text());
  } catch (e) {
    if (e instanceof ArchiveError && e.kind === "source") throw e;
    skip("actor.json", `the profile cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    return { profile: null, skips };
  }
  const parsed = ActorJson.safeParse(raw);
  if (!parsed.success) {
    skip("actor.json", "the profile is not an actor document");
    return { profile: null, skips };
  }
  const actor = parsed.data;
  const bio = await sanitizeHtml(actor.summary ?? "");
  if (htmlToPlain(bio).length > BIO_MAX)
    skip("actor.json summary", `the bio is cut to ${BIO_MAX} characters`);
  if (actor.attachment.length > FIELDS_MAX)
    skip("actor.json attachment", `only the first ${FIELDS_MAX} profile fields are kept`);
  const fields: ArchivedProfile["fields"] = [];
  for (const f of actor.attachment.slice(0, FIELDS_MAX)) {
    fields.push({
      name: truncate(cleanText(f.name).trim(), FIELD_MAX),
      value: await sanitizeHtml(f.value),
    });
  }
  const index = await lookup([actor.icon?.url, actor.image?.url].filter((p): p is string => !!p));
  const image = async (kind: "avatar" | "header", path: string | undefined) =>
    path ? stageImage(ctx, importId, zip, index, kind, path, skip) : null;
  return {
    profile: {
      name: truncate(cleanText(actor.name ?? "").trim(), NAME_MAX),
      bio,
      fields,
      avatarKey: await image("avatar", actor.icon?.url),
      headerKey: await image("header", actor.image?.url),
    },
    skips,
  };
}

/** Copies an avatar or header out of the archive to imports/<job>/<kind>.<ext>; null when it cannot. */
async function stageImage(
  ctx: Ctx,
  importId: string,
  zip: Pick<ZipReader, "open">,
  index: EntryLookup,
  kind: "avatar" | "header",
  path: string,
  skip: (ref: string, reason: string) => void,
): Promise<string | null> {
  const entry = index.get(path);
  if (!entry || entry.isDirectory) {
    skip(path, `the ${kind} is not in the archive`);
    return null;
  }
  if (entry.size > AVATAR_SIZE_LIMIT) {
    skip(path, `the ${kind} is ${entry.size} bytes, over the ${AVATAR_SIZE_LIMIT} allowed`);
    return null;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await new Response(zip.open(entry, { maxSize: AVATAR_SIZE_LIMIT })).arrayBuffer());
  } catch (e) {
    if (!(e instanceof ArchiveError) || e.kind === "source") throw e;
    skip(path, `the ${kind} cannot be read: ${e.message}`);
    return null;
  }
  const type = sniff(bytes.subarray(0, SNIFF_BYTES));
  if (!type || type.kind !== "image") {
    skip(path, `the ${kind} is not an image Perch accepts`);
    return null;
  }
  const key = stagedKey(importId, kind, type.ext);
  await ctx.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: type.mime } });
  return key;
}

const stagedKey = (importId: string, kind: string, ext: string) => `imports/${importId}/${kind}.${ext}`;

/** Where a job's staged files live (the archive's own key is imports/<job>.zip, outside it). */
export const stagingPrefix = (importId: string) => `imports/${importId}/`;

export class ProfileDecisionError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The owner chose the old profile: name, bio and fields replace the current ones, and the staged
 * images become the avatar and header, through the same path as a profile edit (updateProfile:
 * images sniffed and stored, then an Update of the actor to the followers). The staged files go.
 */
export async function applyArchivedProfile(ctx: Ctx, importId: string): Promise<Account> {
  const { profile } = await pendingProfile(ctx, importId);
  const file = async (key: string | null, name: string) => {
    if (!key) return undefined;
    const object = await ctx.env.MEDIA.get(key);
    if (!object) return undefined;
    return new File([await object.arrayBuffer()], name, {
      type: object.httpMetadata?.contentType ?? "application/octet-stream",
    });
  };
  const account = await updateProfile(ctx, {
    displayName: profile.name,
    // A bio and field values are stored the way an edit stores them: from text, escaped and linked.
    note: truncate(plainWithLinks(profile.bio), BIO_MAX),
    fields: profile.fields.map((f) => ({
      name: f.name,
      value: truncate(plainWithLinks(f.value), FIELD_MAX),
    })),
    avatar: await file(profile.avatarKey, "avatar"),
    header: await file(profile.headerKey, "header"),
  });
  await decide(ctx, importId, "applied");
  return account;
}

/**
 * Sanitized HTML as the text a profile edit takes: a link whose text is its address shortened (as
 * some servers write them) keeps its whole address, so that it is linked again; mentions and
 * hashtags keep their text.
 */
export function plainWithLinks(html: string): string {
  const linked = html.replace(
    /<a\s[^>]*href="(https?:\/\/[^"]+)"[^>]*>([\s\S]*?)<\/a>/gi,
    (whole, href, inner) => {
      const text = htmlToPlain(inner).replace(/…$/, "");
      const bare = (u: string) => u.replace(/^https?:\/\//i, "");
      if (text === "" || /^[#@]/.test(text) || !bare(href).startsWith(bare(text))) return whole;
      return href; // still entity-encoded: htmlToPlain decodes it with the rest
    },
  );
  return htmlToPlain(linked);
}

/** The owner kept the current profile: the staged images go, the old profile stays in the report. */
export async function declineArchivedProfile(ctx: Ctx, importId: string): Promise<void> {
  await pendingProfile(ctx, importId);
  await decide(ctx, importId, "declined");
}

async function pendingProfile(ctx: Ctx, importId: string) {
  const job = (await ctx.db.select().from(archiveImports).where(eq(archiveImports.id, importId)))[0];
  if (!job?.profile) throw new ProfileDecisionError(404, "This import has no profile to use");
  if (job.profileState !== "pending")
    throw new ProfileDecisionError(409, "The profile of this import was decided already");
  return { job, profile: job.profile };
}

async function decide(ctx: Ctx, importId: string, state: "applied" | "declined") {
  await ctx.db
    .update(archiveImports)
    .set({ profileState: state, updatedAt: new Date().toISOString() })
    .where(eq(archiveImports.id, importId));
  await deleteStaged(ctx, importId);
}

/** Removes a job's staged files (R2 lists them under its prefix; there are at most two). */
export async function deleteStaged(ctx: Ctx, importId: string): Promise<void> {
  const listed = await ctx.env.MEDIA.list({ prefix: stagingPrefix(importId), limit: 100 });
  const keys = listed.objects.map((o) => o.key);
  if (keys.length > 0) await ctx.env.MEDIA.delete(keys);
}
