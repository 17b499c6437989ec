import type { ReactionRow } from "../../services/status-page";

/** One emoji's reactions to a status, as Pleroma's `emoji_reactions` entries. */
export interface StatusReaction {
  name: string;
  count: number;
  /** Whether the owner is among them. */
  me: boolean;
  /** A custom emoji's image. */
  url?: string;
}

/** Reactions per status: the most used emoji first, then the one first used. */
export function groupReactions(rows: ReactionRow[]): Map<string, StatusReaction[]> {
  const sorted = [...rows].sort((a, b) => b.n - a.n || (a.first ?? "").localeCompare(b.first ?? ""));
  const out = new Map<string, StatusReaction[]>();
  for (const r of sorted) {
    if (!r.emoji) continue;
    const list = out.get(r.id) ?? [];
    list.push({ name: r.emoji, count: r.n, me: r.mine === 1, ...(r.url ? { url: r.url } : {}) });
    out.set(r.id, list);
  }
  return out;
}
