import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../app";
import { notFound, unprocessable } from "../../lib/errors";
import { requireToken } from "../../oauth/middleware";
import { ownVotes, PollError, vote } from "../../services/polls";
import { serializePoll } from "../entities/status";
import { p, parseWith, readInput } from "../input";
import { findVisible, ownerViewing } from "./common";

/** Polls: a status's poll by the status id, and voting. https://docs.joinmastodon.org/methods/polls/ */
export const pollsApi = new Hono<AppEnv>();

pollsApi.get("/api/v1/polls/:id", async (c) => {
  const ctx = c.var.ctx;
  const viewer = await ownerViewing(c);
  const row = await findVisible(ctx, c.req.param("id"), viewer);
  if (!row.poll || row.reblogOfId) throw notFound();
  const { owner } = await ctx.instance();
  const mine = viewer ? await ownVotes(ctx, row.id) : [];
  return c.json(serializePoll(row.id, row.poll, mine, viewer && row.accountId === owner.id));
});

const VoteParams = z.object({
  choices: p.list(p.int(0, 100), 20).pipe(z.array(z.number()).min(1, "can't be blank")),
});

pollsApi.post("/api/v1/polls/:id/votes", requireToken("write:statuses", { user: true }), async (c) => {
  const ctx = c.var.ctx;
  const row = await findVisible(ctx, c.req.param("id"), true);
  if (!row.poll || row.reblogOfId) throw notFound();
  const { choices } = parseWith(VoteParams, await readInput(c));
  let updated;
  try {
    updated = await vote(ctx, row, choices);
  } catch (err) {
    if (err instanceof PollError) throw unprocessable(err.message);
    throw err;
  }
  if (!updated.poll) throw notFound();
  return c.json(serializePoll(updated.id, updated.poll, await ownVotes(ctx, row.id), false));
});
