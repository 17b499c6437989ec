import type { Ctx } from "../context";
import { deadLetters } from "../db/schema";
import { newId } from "../lib/ids";

/** Keeps what finally failed where the owner can see (and later retry) it. */
export async function keepDeadLetter(
  ctx: Ctx,
  entry: { kind: "delivery" | "inbox"; target: string; payload: string; error: string; attempts: number },
): Promise<void> {
  await ctx.db.insert(deadLetters).values({ id: newId(), ...entry, error: entry.error.slice(0, 2000) });
}
