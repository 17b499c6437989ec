/**
 * What aliases and moves share: their one failure type, and resolving the account the owner names
 * (by handle or URL) through WebFinger and a fetch of its actor.
 */
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { uris } from "../federation/uris";
import { RemoteFetchError } from "../lib/remote-fetch";
import { InvalidActorError, resolveHandleOrUrl } from "./accounts";

/** A refusal of an alias or a move, with the status the owner's pages and JSON answer with. */
export class MovingError extends Error {
  override name = "MovingError";
  constructor(
    readonly status: 404 | 422 | 429,
    message: string,
    readonly reason: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const MAX_INPUT = 2048;

/**
 * The account behind what the owner typed, fetched (`refresh`: again, even if a fresh copy is
 * stored). The owner's own handle or actor is refused before anything is fetched.
 */
export async function resolveNamedAccount(
  ctx: Ctx,
  input: string,
  opts: { refresh?: boolean } = {},
): Promise<Account> {
  const typed = input.trim();
  if (typed === "" || typed.length > MAX_INPUT)
    throw new MovingError(422, "Name an account as user@host or by its URL", "no_account");
  const u = uris(ctx.config);
  const bare = typed.replace(/^acct:/i, "").replace(/^@/, "");
  if (typed === u.actor || typed === u.profileUrl || bare.toLowerCase() === u.handle.toLowerCase())
    throw new MovingError(422, "That is this account itself", "self");
  let account: Account;
  try {
    account = await resolveHandleOrUrl(ctx, typed, opts);
  } catch (e) {
    if (e instanceof RemoteFetchError) {
      if (e.reason === "not_found" || e.reason === "gone")
        throw new MovingError(404, `No account was found at ${typed}`, "not_found");
      throw new MovingError(422, `Could not look up ${typed} (${e.reason})`, e.reason);
    }
    if (e instanceof InvalidActorError)
      throw new MovingError(422, `${typed} is not a usable account: ${e.message}`, "invalid_actor");
    throw e;
  }
  if (account.local) throw new MovingError(422, "That is this account itself", "self");
  return account;
}
