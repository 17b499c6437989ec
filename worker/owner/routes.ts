import { Hono, type MiddlewareHandler } from "hono";
import { desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../app";
import { d1Usage } from "../db/metered";
import { countingUsage } from "../services/relay-accounting";
import { accounts, deadLetters, follows, statuses } from "../db/schema";
import { HttpError, notFound, unprocessable } from "../lib/errors";
import { readJsonBody } from "../lib/json-body";
import { RemoteFetchError } from "../lib/remote-fetch";
import { basicCredentials } from "../oauth/basic-auth";
import { checkOwnerPassword } from "../oauth/owner-password";
import { findAccountByUri, InvalidActorError } from "../services/accounts";
import { answerFollowRequest, follow, FollowError, unfollow } from "../services/following";
import { announce, InteractionError, like, unannounce, unlike } from "../services/interactions";
import { deleteNote } from "../services/post-delete";
import { editNote } from "../services/post-edit";
import { PostingError } from "../services/post-input";
import { publishNote } from "../services/post-publish";

/**
 * The owner's command API, until the Mastodon API and OAuth land: JSON endpoints under /_perch/owner
 * guarded by HTTP Basic auth with OWNER_PASSWORD (any user name). Answers 404 when no password is set.
 */
export const ownerApi = new Hono<AppEnv>();

const MAX_BODY = 64 * 1024;

/**
 * Basic auth with the owner password (any user name), checked and throttled like every other
 * password check: 401 with a challenge for a wrong one, 429 with Retry-After while locked.
 */
const requireOwner: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.env.OWNER_PASSWORD) throw notFound();
  const login = await checkOwnerPassword(
    c.var.ctx,
    basicCredentials(c.req.header("authorization"))?.password ?? "",
    c.req.header("cf-connecting-ip"),
  );
  if (login.kind === "locked") {
    throw new HttpError(429, "Too many failed attempts; try again later", "owner_login_locked", {
      "retry-after": String(login.retryAfterSeconds),
    });
  }
  if (login.kind !== "ok") {
    throw new HttpError(401, "The access token is invalid", "bad_owner_password", {
      "www-authenticate": 'Basic realm="perch"',
    });
  }
  await next();
};

function body<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  return readJsonBody(request, schema, MAX_BODY);
}

const owner = new Hono<AppEnv>();
owner.use(requireOwner);

/** Domain errors from the services, as HTTP answers; used by the app's onError. */
export function mapServiceError(err: unknown): unknown {
  if (err instanceof FollowError || err instanceof PostingError || err instanceof InteractionError)
    return unprocessable(err.message);
  if (err instanceof RemoteFetchError) {
    return err.reason === "not_found" || err.reason === "gone"
      ? notFound(`Could not find ${err.url}`)
      : unprocessable(`Could not fetch ${err.url}: ${err.reason}`, err.reason);
  }
  if (err instanceof InvalidActorError) return unprocessable(err.message);
  return err;
}

const Target = z.object({ target: z.string().min(3).max(2048) });
const Uri = z.object({ uri: z.url().max(2048) });

owner.post("/follow", async (c) => {
  const { target } = await body(c.req.raw, Target);
  const result = await follow(c.var.ctx, target);
  return c.json({ account: result.account.uri, accepted: result.follow.accepted });
});

owner.post("/unfollow", async (c) => {
  const { target } = await body(c.req.raw, Target);
  const account = await findAccountByUri(c.var.ctx, target);
  if (!account) throw notFound("Not following that account");
  return c.json({ unfollowed: await unfollow(c.var.ctx, account) });
});

const FollowAnswer = z.object({ account: z.url(), accept: z.boolean() });
owner.post("/follow_requests", async (c) => {
  const { account, accept } = await body(c.req.raw, FollowAnswer);
  const follower = await findAccountByUri(c.var.ctx, account);
  if (!follower || !(await answerFollowRequest(c.var.ctx, follower, accept)))
    throw notFound("No such follow request");
  return c.json({ ok: true });
});

const NewStatus = z.object({
  text: z.string().min(1).max(5000),
  visibility: z.enum(["public", "unlisted", "private", "direct"]).default("public"),
  mentions: z.array(z.string().max(2048)).max(50).optional(),
  in_reply_to: z.url().optional(),
  spoiler_text: z.string().max(1000).optional(),
  sensitive: z.boolean().optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/)
    .optional(),
});
owner.post("/statuses", async (c) => {
  const input = await body(c.req.raw, NewStatus);
  const status = await publishNote(c.var.ctx, {
    text: input.text,
    visibility: input.visibility,
    ...(input.mentions ? { mentions: input.mentions } : {}),
    ...(input.in_reply_to ? { inReplyTo: input.in_reply_to } : {}),
    ...(input.spoiler_text ? { spoilerText: input.spoiler_text } : {}),
    ...(input.sensitive !== undefined ? { sensitive: input.sensitive } : {}),
    ...(input.language ? { language: input.language } : {}),
  });
  return c.json({ id: status.id, uri: status.uri, url: status.url }, 200);
});

const EditStatus = z.object({
  text: z.string().min(1).max(5000),
  spoiler_text: z.string().max(1000).optional(),
});
owner.put("/statuses/:id", async (c) => {
  const input = await body(c.req.raw, EditStatus);
  const status = await editNote(c.var.ctx, c.req.param("id"), {
    text: input.text,
    ...(input.spoiler_text !== undefined ? { spoilerText: input.spoiler_text } : {}),
  });
  return c.json({ id: status.id, uri: status.uri, edited_at: status.editedAt });
});

owner.delete("/statuses/:id", async (c) => {
  await deleteNote(c.var.ctx, c.req.param("id"));
  return c.json({ deleted: true });
});

for (const [path, action] of [
  ["/like", like],
  ["/announce", announce],
] as const) {
  owner.post(path, async (c) => {
    const { uri } = await body(c.req.raw, Uri);
    const status = await action(c.var.ctx, uri);
    return c.json({ id: status.id, uri: status.uri });
  });
}
for (const [path, action] of [
  ["/unlike", unlike],
  ["/unannounce", unannounce],
] as const) {
  owner.post(path, async (c) => {
    const { uri } = await body(c.req.raw, Uri);
    return c.json({ done: await action(c.var.ctx, uri) });
  });
}

/** Stored statuses, newest first, with like counts: what has reached this server. */
owner.get("/statuses", async (c) => {
  const rows = await c.var.ctx.db
    .select({
      id: statuses.id,
      uri: statuses.uri,
      account: accounts.uri,
      content: statuses.content,
      visibility: statuses.visibility,
      reblogOf: statuses.reblogOfId,
      editedAt: statuses.editedAt,
      deletedAt: statuses.deletedAt,
      likes: sql<number>`(SELECT count(*) FROM favourites f WHERE f.status_id = ${statuses.id})`,
    })
    .from(statuses)
    .innerJoin(accounts, eq(accounts.id, statuses.accountId))
    .orderBy(desc(statuses.id))
    .limit(Math.min(Number(c.req.query("limit") ?? 40) || 40, 200));
  return c.json(rows);
});

/** Follow relationships in both directions, with their state (the owner's own, newest first). */
owner.get("/relationships", async (c) => {
  const ctx = c.var.ctx;
  const { owner: me } = await ctx.instance();
  type Side = typeof follows.accountId | typeof follows.targetAccountId;
  const list = (mine: Side, theirs: Side) =>
    ctx.db
      .select({ account: accounts.uri, accepted: follows.accepted })
      .from(follows)
      .innerJoin(accounts, eq(accounts.id, theirs))
      .where(eq(mine, me.id))
      .orderBy(desc(follows.id))
      .limit(1000);
  const [followers, following] = await Promise.all([
    list(follows.targetAccountId, follows.accountId),
    list(follows.accountId, follows.targetAccountId),
  ]);
  return c.json({ followers, following });
});

/** What finally failed to deliver or to process. */
owner.get("/dead_letters", async (c) => {
  const rows = await c.var.ctx.db.select().from(deadLetters).orderBy(desc(deadLetters.id)).limit(100);
  return c.json(rows);
});

/** D1 usage counted by this isolate since it started (queries, rows read, rows written). */
owner.get("/metrics", async (c) => {
  const count = async (table: string) =>
    (await c.env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;
  const [statusesN, accountsN, deadN, seenN] = await Promise.all(
    ["statuses", "accounts", "dead_letters", "inbox_seen"].map(count),
  );
  return c.json({
    d1: d1Usage,
    relayCounting: countingUsage,
    counts: { statuses: statusesN, accounts: accountsN, deadLetters: deadN, inboxSeen: seenN },
  });
});

ownerApi.route("/_perch/owner", owner);
