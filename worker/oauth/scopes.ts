/**
 * OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, and granular ones such as
 * `read:statuses`. A granted top-level scope covers its granular scopes; the legacy `follow` covers the
 * relationship scopes. https://docs.joinmastodon.org/api/oauth-scopes/
 */
const GRANULAR: Record<"read" | "write", string[]> = {
  read: [
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
  ],
  write: [
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
  ],
};
const FOLLOW_COVERS = [
  "read:follows",
  "write:follows",
  "read:blocks",
  "write:blocks",
  "read:mutes",
  "write:mutes",
];

const KNOWN = new Set([
  "read",
  "write",
  "follow",
  "push",
  "profile",
  ...GRANULAR.read.map((s) => `read:${s}`),
  ...GRANULAR.write.map((s) => `write:${s}`),
]);

/** Splits a scope string (space or `+` separated); null when any scope is unknown. */
export function parseScopes(input: string | undefined, fallback = "read"): string[] | null {
  const scopes = (input?.trim() || fallback).split(/[\s+]+/).filter(Boolean);
  if (scopes.some((s) => !KNOWN.has(s))) return null;
  return [...new Set(scopes)];
}

/** Whether `granted` includes `required` directly, through its top-level scope, or through `follow`. */
export function allows(granted: string[], required: string): boolean {
  if (granted.includes(required)) return true;
  const [top] = required.split(":");
  if (top && top !== required && granted.includes(top)) return true;
  if (granted.includes("follow") && FOLLOW_COVERS.includes(required)) return true;
  // `profile` is the narrow scope for verify_credentials only.
  return required === "profile" && granted.some((g) => g === "read" || g === "read:accounts");
}

/** Whether every scope requested is within what an app registered. */
export function within(requested: string[], registered: string[]): boolean {
  return requested.every((s) => allows(registered, s));
}
