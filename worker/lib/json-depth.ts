/** Deeper nesting than this is refused before anything else looks at an activity. */
export const MAX_ACTIVITY_DEPTH = 32;

/**
 * Whether a parsed JSON value nests deeper than `max` arrays and objects. Walked with an explicit
 * stack, so a hostile 100,000-deep document costs a loop, not the call stack; it stops at the first
 * path that is too deep. ActivityStreams documents in the wild nest about five levels (an activity, its
 * object, a tag or attachment, a URL object); Mastodon's deepest are well under twenty.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    if (depth + 1 > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}
