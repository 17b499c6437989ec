/** JSON-LD contexts Perch emits, as Mastodon does, so that peers that expand JSON-LD read our terms. */
export const AS_CONTEXT = "https://www.w3.org/ns/activitystreams";
export const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
export const PUBLIC_ALIASES = new Set([PUBLIC, "as:Public", "Public"]);

export const ACTOR_CONTEXT = [
  AS_CONTEXT,
  "https://w3id.org/security/v1",
  "https://w3id.org/security/multikey/v1",
  {
    manuallyApprovesFollowers: "as:manuallyApprovesFollowers",
    toot: "http://joinmastodon.org/ns#",
    featured: { "@id": "toot:featured", "@type": "@id" },
    featuredTags: { "@id": "toot:featuredTags", "@type": "@id" },
    alsoKnownAs: { "@id": "as:alsoKnownAs", "@type": "@id" },
    movedTo: { "@id": "as:movedTo", "@type": "@id" },
    schema: "http://schema.org#",
    PropertyValue: "schema:PropertyValue",
    value: "schema:value",
    discoverable: "toot:discoverable",
    indexable: "toot:indexable",
    webfinger: "https://purl.archive.org/socialweb/webfinger#webfinger",
    assertionMethod: {
      "@id": "https://w3id.org/security#assertionMethod",
      "@type": "@id",
      "@container": "@set",
    },
  },
];

export const OBJECT_CONTEXT = [
  AS_CONTEXT,
  "https://w3id.org/security/data-integrity/v1",
  {
    sensitive: "as:sensitive",
    Hashtag: "as:Hashtag",
    toot: "http://joinmastodon.org/ns#",
    votersCount: "toot:votersCount",
    blurhash: "toot:blurhash",
  },
];

/** Context for outgoing activities: AS plus the Data Integrity terms their proof uses. */
export const ACTIVITY_CONTEXT = OBJECT_CONTEXT;

export const ACTIVITY_CONTENT_TYPE = "application/activity+json";

/** True when an Accept header asks for ActivityStreams JSON rather than HTML. */
export function wantsActivityJson(accept: string | undefined | null): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  if (a.includes("application/activity+json")) return true;
  // ld+json is served with or without the ActivityStreams profile: browsers never ask for it.
  return a.includes("application/ld+json");
}
