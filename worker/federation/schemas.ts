/**
 * zod schemas for remote ActivityPub documents: the trust boundary between JSON from the network and
 * the rest of Perch. They accept the shapes the fediverse actually sends (single values or arrays,
 * embedded objects or bare ids) and normalise them; anything else fails validation.
 */
import { z } from "zod";
import { cleanText } from "../lib/text/clean";

const MAX_URL = 2048;

/**
 * Written so that every URL parser reads it as http(s), whatever it does first: WHATWG parsing (as in
 * browsers) strips leading spaces and C0 controls and removes tabs and newlines anywhere, so
 * "\u0001java\tscript:…" is a javascript: URL to a browser. Hence the literal `http://` or `https://`
 * at the start, and no whitespace, control characters, quotes, angle brackets, backslashes or
 * backticks anywhere (no well-formed URL has them unescaped, and HTML built carelessly from them breaks).
 */
const HTTP_URL = /^https?:\/\/[^\u0000-\u0020\u007f-\u009f"'<>\\`]+$/i;

/**
 * An http(s) URL from a remote document: the one rule every URL Perch takes from the network passes
 * (ids, endpoints, links, images, attachments). Anything else fails validation, so that a field
 * holding one is dropped, or the document refused when the field is required.
 */
export const Url = z
  .string()
  .max(MAX_URL)
  .refine((s) => {
    if (!HTTP_URL.test(s)) return false;
    try {
      const u = new URL(s);
      return (u.protocol === "https:" || u.protocol === "http:") && u.hostname !== "";
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

/**
 * "One or many", keeping the entries that are valid and dropping the others (an attachment with a
 * javascript: URL among good ones): never fails, and nothing unvalidated passes.
 */
export function validEntries<T extends z.ZodType>(item: T) {
  // optional(): a missing key is an empty list, not a missing value.
  return z
    .unknown()
    .optional()
    .transform((value): z.output<T>[] =>
      (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]).flatMap((v) => {
        const r = item.safeParse(v);
        return r.success ? [r.data] : [];
      }),
    );
}

/** A link: a URL, or a Link object with an href (as Mastodon and others send `url`). */
const Link = z.union([
  Url.transform((href) => ({ href, mediaType: undefined as string | undefined })),
  z.looseObject({ href: Url, mediaType: z.string().max(200).optional().catch(undefined) }),
]);
const LinkRef = Link.transform((l) => l.href);

/**
 * The page a `url` of one link or several names: the text/html one if marked (as Mastodon picks it),
 * else the first valid one; undefined when none is valid.
 */
const PageLink = validEntries(Link).transform(
  (links) => (links.find((l) => l.mediaType === "text/html") ?? links[0])?.href,
);

const Addressing = z
  .union([Url, z.literal("as:Public"), z.literal("Public")])
  .transform((v) =>
    v === "as:Public" || v === "Public" ? "https://www.w3.org/ns/activitystreams#Public" : v,
  );
export const Audience = oneOrMany(Addressing).optional().catch(undefined);

/** Remote text, with the control characters Perch never stores removed (lib/text/clean). */
const text = (max: number) => z.string().max(max).transform(cleanText);
const Text = text(500_000);
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
  .union([Url, z.looseObject({ url: LinkRef })])
  .transform((v) => (typeof v === "string" ? v : v.url));

/**
 * A remote username (preferredUsername): letters, marks and digits of any script and `_`, with `.` and
 * `-` only between them, at most 100 characters. Mastodon accepts only ASCII here
 * (Account::USERNAME_RE); other scripts are allowed, but never `@`, whitespace or control characters,
 * which would make `user@host` ambiguous ("Gargron@mastodon.social@evil.example").
 */
export const Username = z
  .string()
  .max(100)
  .regex(/^[\p{L}\p{M}\p{Nd}_](?:[\p{L}\p{M}\p{Nd}_.-]*[\p{L}\p{M}\p{Nd}_])?$/u, "invalid username");

const PropertyValue = z.looseObject({
  type: z.literal("PropertyValue"),
  name: text(255),
  value: text(2048),
});

const ACTOR_TYPES = ["Person", "Service", "Application", "Group", "Organization"] as const;

export const Actor = z.looseObject({
  id: Url,
  type: z.enum(ACTOR_TYPES),
  preferredUsername: Username,
  name: text(1000).nullish().catch(undefined),
  summary: Text.nullish().catch(undefined),
  url: PageLink,
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
  icon: validEntries(ImageRef),
  image: validEntries(ImageRef),
  alsoKnownAs: validEntries(Url),
  movedTo: Url.optional().catch(undefined),
  /** Profile fields; their value is HTML, sanitized when stored. */
  attachment: validEntries(PropertyValue),
  publicKey: validEntries(PublicKey),
  assertionMethod: validEntries(Multikey),
});
export type Actor = z.infer<typeof Actor>;

const TagItem = z.looseObject({
  type: z.string().max(100),
  href: Url.optional().catch(undefined),
  name: text(500).optional().catch(undefined),
});
/** A MIME type, with parameters if any, in printable ASCII. */
const MediaType = z
  .string()
  .max(200)
  .regex(/^[\w.+-]+\/[\w.+-]+(?:\s*;[ -~]*)?$/);
/** https://github.com/woltapp/blurhash: base 83 digits. */
const Blurhash = z
  .string()
  .max(200)
  .regex(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,}$/);
const AttachmentItem = z.looseObject({
  type: text(50),
  mediaType: MediaType.optional().catch(undefined),
  url: LinkRef,
  /** A preview image (Mastodon reads it as the thumbnail). */
  icon: validEntries(ImageRef),
  name: text(5000).nullish().catch(undefined),
  blurhash: Blurhash.optional().catch(undefined),
  width: z.number().int().positive().optional().catch(undefined),
  height: z.number().int().positive().optional().catch(undefined),
});
const PollOption = z.looseObject({
  name: text(1000),
  replies: z.looseObject({ totalItems: z.number().int().nonnegative() }).optional().catch(undefined),
});

export const NOTE_TYPES = ["Note", "Question", "Article", "Page"] as const;

export const Note = z.looseObject({
  id: Url,
  type: z.enum(NOTE_TYPES),
  attributedTo: oneOrMany(IdRef).transform((a) => a[0] as string),
  content: Text.nullish(),
  contentMap: z.record(z.string().max(100), Text).optional().catch(undefined),
  name: text(5000).nullish(),
  summary: Text.nullish(),
  sensitive: z.boolean().nullish().catch(undefined),
  inReplyTo: IdRef.nullish().catch(null),
  published: z.iso.datetime({ offset: true }).optional().catch(undefined),
  updated: z.iso.datetime({ offset: true }).optional().catch(undefined),
  url: PageLink,
  to: Audience,
  cc: Audience,
  tag: validEntries(TagItem),
  attachment: validEntries(AttachmentItem),
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
