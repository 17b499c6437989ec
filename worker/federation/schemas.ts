/**
 * zod schemas for remote ActivityPub documents: the trust boundary between JSON from the network and
 * the rest of Perch. They accept the shapes the fediverse actually sends (single values or arrays,
 * embedded objects or bare ids) and normalise them; anything else fails validation.
 */
import { z } from "zod";

const MAX_URL = 2048;

export const Url = z
  .string()
  .max(MAX_URL)
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === "https:" || u.protocol === "http:";
    } catch {
      return false;
    }
  }, "expected an http(s) URL");

/** A value that may be a bare id or an object with an id: normalised to the id. */
export const IdRef = z.union([Url, z.looseObject({ id: Url }).transform((o) => o.id)]);

/** JSON-LD's "one or many": normalised to an array. */
export function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item.array(), item.transform((v) => [v])]);
}

const Addressing = z
  .union([Url, z.literal("as:Public"), z.literal("Public")])
  .transform((v) =>
    v === "as:Public" || v === "Public" ? "https://www.w3.org/ns/activitystreams#Public" : v,
  );
export const Audience = oneOrMany(Addressing).optional().catch(undefined);

const Text = z.string().max(500_000);
/** Types are strings, or arrays whose first entry is used (rare, but seen). */
export const TypeName = z
  .union([z.string().max(100), z.array(z.string().max(100)).min(1)])
  .transform((t) => (Array.isArray(t) ? (t[0] as string) : t));

export const PublicKey = z.looseObject({
  id: Url,
  owner: Url,
  publicKeyPem: z.string().max(10_000),
});

export const Multikey = z.looseObject({
  id: Url,
  type: z.literal("Multikey"),
  controller: Url,
  publicKeyMultibase: z.string().max(200),
});

const ImageRef = z
  .union([Url, z.looseObject({ url: z.union([Url, z.looseObject({ href: Url }).transform((l) => l.href)]) })])
  .transform((v) => (typeof v === "string" ? v : v.url));

const ACTOR_TYPES = ["Person", "Service", "Application", "Group", "Organization"] as const;

export const Actor = z.looseObject({
  id: Url,
  type: z.enum(ACTOR_TYPES),
  preferredUsername: z.string().min(1).max(255),
  name: z.string().max(1000).nullish(),
  summary: Text.nullish(),
  url: z
    .union([Url, z.looseObject({ href: Url }).transform((l) => l.href), z.array(z.unknown())])
    .nullish()
    .catch(null),
  inbox: Url,
  outbox: Url.optional().catch(undefined),
  followers: Url.optional().catch(undefined),
  following: Url.optional().catch(undefined),
  featured: Url.optional().catch(undefined),
  endpoints: z
    .looseObject({ sharedInbox: Url.optional().catch(undefined) })
    .optional()
    .catch(undefined),
  manuallyApprovesFollowers: z.boolean().optional().catch(undefined),
  discoverable: z.boolean().nullish().catch(undefined),
  indexable: z.boolean().nullish().catch(undefined),
  icon: oneOrMany(ImageRef).optional().catch(undefined),
  image: oneOrMany(ImageRef).optional().catch(undefined),
  alsoKnownAs: oneOrMany(Url).optional().catch(undefined),
  movedTo: Url.optional().catch(undefined),
  attachment: z.array(z.unknown()).optional().catch(undefined),
  publicKey: z
    .union([PublicKey, z.array(PublicKey)])
    .optional()
    .catch(undefined),
  assertionMethod: oneOrMany(z.union([Multikey, z.unknown()]))
    .optional()
    .catch(undefined),
});
export type Actor = z.infer<typeof Actor>;

const PropertyValue = z.looseObject({
  type: z.literal("PropertyValue"),
  name: z.string().max(255),
  value: z.string().max(2048),
});
export const actorFields = (attachment: unknown[] | undefined) =>
  (attachment ?? []).flatMap((a) => {
    const r = PropertyValue.safeParse(a);
    return r.success ? [{ name: r.data.name, value: r.data.value }] : [];
  });

const TagItem = z.looseObject({
  type: z.string(),
  href: Url.optional().catch(undefined),
  name: z.string().max(500).optional(),
});
const AttachmentItem = z.looseObject({
  type: z.string().max(50),
  mediaType: z.string().max(200).optional().catch(undefined),
  url: z.union([Url, z.looseObject({ href: Url }).transform((l) => l.href)]),
  name: z.string().max(5000).nullish().catch(undefined),
  blurhash: z.string().max(200).optional().catch(undefined),
  width: z.number().int().positive().optional().catch(undefined),
  height: z.number().int().positive().optional().catch(undefined),
});
const PollOption = z.looseObject({
  name: z.string().max(1000),
  replies: z.looseObject({ totalItems: z.number().int().nonnegative() }).optional().catch(undefined),
});

export const NOTE_TYPES = ["Note", "Question", "Article", "Page"] as const;

export const Note = z.looseObject({
  id: Url,
  type: z.enum(NOTE_TYPES),
  attributedTo: oneOrMany(IdRef).transform((a) => a[0] as string),
  content: Text.nullish(),
  contentMap: z.record(z.string(), Text).optional().catch(undefined),
  name: z.string().max(5000).nullish(),
  summary: Text.nullish(),
  sensitive: z.boolean().nullish().catch(undefined),
  inReplyTo: IdRef.nullish().catch(null),
  published: z.iso.datetime({ offset: true }).optional().catch(undefined),
  updated: z.iso.datetime({ offset: true }).optional().catch(undefined),
  url: z
    .union([
      Url,
      z.looseObject({ href: Url }).transform((l) => l.href),
      z.array(z.unknown()).transform(() => undefined),
    ])
    .nullish()
    .catch(undefined),
  to: Audience,
  cc: Audience,
  tag: oneOrMany(TagItem.or(z.unknown())).optional().catch(undefined),
  attachment: oneOrMany(AttachmentItem.or(z.unknown())).optional().catch(undefined),
  oneOf: z.array(PollOption).optional().catch(undefined),
  anyOf: z.array(PollOption).optional().catch(undefined),
  endTime: z.iso.datetime({ offset: true }).optional().catch(undefined),
  closed: z
    .union([z.iso.datetime({ offset: true }), z.boolean()])
    .optional()
    .catch(undefined),
  votersCount: z.number().int().nonnegative().optional().catch(undefined),
});
export type Note = z.infer<typeof Note>;

/** The envelope every incoming activity must have; handlers validate their own `object`. */
export const Activity = z.looseObject({
  "@context": z.unknown().optional(),
  id: Url,
  type: TypeName,
  actor: IdRef,
  object: z.unknown().optional(),
  target: z.unknown().optional(),
  to: Audience,
  cc: Audience,
  proof: z.unknown().optional(),
});
export type Activity = z.infer<typeof Activity>;

/** The id of an activity's `object`, whether embedded or referenced. */
export function objectId(object: unknown): string | undefined {
  const r = IdRef.safeParse(object);
  return r.success ? r.data : undefined;
}

export function hostOf(url: string): string {
  return new URL(url).host;
}
