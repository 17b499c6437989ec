import type { Ctx } from "../context";
import { deadLetters } from "../db/schema";
import { newId } from "../lib/ids";

export interface DeadLetter {
  kind: "delivery" | "inbox";
  target: string;
  payload: string;
  error: string;
  attempts: number;
}

/** D1 binds at most 100 parameters to a statement; a dead letter takes 6 or 7. */
const ROWS_PER_INSERT = 14;

/** Keeps what finally failed where the owner can see (and later retry) it. */
export async function keepDeadLetter(ctx: Ctx, entry: DeadLetter): Promise<void> {
  await keepDeadLetters(ctx, [entry]);
}

/** Several dead letters (a delivery pack's inboxes) in as few statements as D1 allows. */
export async function keepDeadLetters(ctx: Ctx, entries: DeadLetter[]): Promise<void> {
  for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
    await ctx.db
      .insert(deadLetters)
      .values(
        entries
          .slice(i, i + ROWS_PER_INSERT)
          .map((entry) => ({ id: newId(), ...entry, error: entry.error.slice(0, 2000) })),
      );
  }
}
