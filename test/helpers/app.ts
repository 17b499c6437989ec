import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createApp } from "../../worker/app";
import { readConfig } from "../../worker/config";
import { createCtx, type Ctx } from "../../worker/context";

/** The configuration the tests run with (vitest.config.ts): @alice@example.com on social.example.com. */
export const BASE = "https://social.example.com";
export const ACTOR = `${BASE}/users/alice`;

export function testCtx(): Ctx {
  return createCtx(env, readConfig(env));
}

const app = createApp();

/** Sends a request through the whole Worker app (real D1, R2 and Queues) and waits for its background work. */
export async function request(input: string | Request, init?: RequestInit): Promise<Response> {
  const req = typeof input === "string" ? new Request(new URL(input, BASE), init) : input;
  const execution = createExecutionContext();
  const res = await app.fetch(req, env, execution);
  await waitOnExecutionContext(execution);
  return res;
}

export const AS_JSON = { accept: "application/activity+json" };
