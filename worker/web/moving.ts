import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { HttpError } from "../lib/errors";
import { checkOwnerPassword } from "../oauth/owner-password";
import { readJsonBody } from "../lib/json-body";
import { addAlias, listAliases, removeAlias } from "../services/aliases";
import { cancelMove, moveState, moveTo } from "../services/move-out";
import { MovingError } from "../services/moving";
import { movingPage } from "./moving-page";
import { requireCsrf, requireOwnerSession } from "./session";

/**
 * Aliases and moving the account: a page (/admin/moving, forms that work without JavaScript) and
 * the same as JSON (/admin/api/aliases, /admin/api/move), behind the owner's login, every change
 * CSRF-checked.
 */
export const movingWeb = new Hono<AppEnv>();

for (const path of ["/admin/moving", "/admin/moving/*", "/admin/api/aliases", "/admin/api/move"]) {
  movingWeb.use(path, requireOwnerSession, requireCsrf);
}

const MAX_BODY = 8 * 1024;
const Name = z.string().trim().min(1, "name an account").max(2048);

/**
 * Moving away asks for the password again, as Mastodon does: a session left open must not be enough
 * to send every follower elsewhere. Checked and throttled like every other password check.
 */
async function confirmPassword(c: Context<AppEnv>, password: string): Promise<void> {
  const login = await checkOwnerPassword(c.var.ctx, password, c.req.header("cf-connecting-ip"));
  if (login.kind === "locked")
    throw new MovingError(429, "Too many failed attempts; try again later", "owner_login_locked", {
      "retry-after": String(login.retryAfterSeconds),
    });
  if (login.kind !== "ok")
    throw new MovingError(422, "That password is not right; nothing was moved", "bad_password");
}

function asHttp(e: unknown): never {
  if (e instanceof MovingError) throw new HttpError(e.status, e.message, e.reason, e.headers);
  throw e;
}

// --- JSON ---------------------------------------------------------------------------------------

movingWeb.get("/admin/api/aliases", async (c) => c.json({ aliases: await listAliases(c.var.ctx) }));

movingWeb.post("/admin/api/aliases", async (c) => {
  const { alias } = await readJsonBody(c.req.raw, z.object({ alias: Name }), MAX_BODY);
  return c.json({ aliases: await addAlias(c.var.ctx, alias).catch(asHttp) }, 201);
});

movingWeb.delete("/admin/api/aliases", async (c) => {
  const { alias } = await readJsonBody(c.req.raw, z.object({ alias: Name }), MAX_BODY);
  return c.json({ aliases: await removeAlias(c.var.ctx, alias).catch(asHttp) });
});

movingWeb.get("/admin/api/move", async (c) => c.json(await moveState(c.var.ctx)));

movingWeb.post("/admin/api/move", async (c) => {
  const { target, password } = await readJsonBody(
    c.req.raw,
    z.object({ target: Name, password: z.string().max(1024) }),
    MAX_BODY,
  );
  await confirmPassword(c, password).catch(asHttp);
  const moved = await moveTo(c.var.ctx, target).catch(asHttp);
  return c.json({ movedTo: moved.target.uri, inboxes: moved.inboxes });
});

movingWeb.delete("/admin/api/move", async (c) => {
  await cancelMove(c.var.ctx);
  return c.body(null, 204);
});

// --- HTML ---------------------------------------------------------------------------------------

async function field(c: Context<AppEnv>, name: string): Promise<string> {
  const form = await c.req.parseBody();
  const value = form[name];
  return typeof value === "string" ? value.trim() : "";
}

/** Runs a change from a form: back to the page with a notice, or the page again with the refusal. */
async function fromForm(c: Context<AppEnv>, done: string, change: () => Promise<unknown>, typed?: string) {
  try {
    await change();
  } catch (e) {
    if (e instanceof MovingError) {
      for (const [k, v] of Object.entries(e.headers ?? {})) c.header(k, v);
      return c.html(await movingPage(c, { error: e.message, typed }), e.status);
    }
    throw e;
  }
  return c.redirect(`/admin/moving?done=${done}`, 303);
}

movingWeb.get("/admin/moving", async (c) => c.html(await movingPage(c)));

movingWeb.post("/admin/moving/aliases", async (c) => {
  const alias = await field(c, "alias");
  return fromForm(c, "added", () => addAlias(c.var.ctx, alias));
});

movingWeb.post("/admin/moving/aliases/remove", async (c) => {
  const alias = await field(c, "alias");
  return fromForm(c, "removed", () => removeAlias(c.var.ctx, alias));
});

movingWeb.post("/admin/moving/move", async (c) => {
  const target = await field(c, "target");
  const password = await field(c, "password");
  return fromForm(
    c,
    "moved",
    async () => {
      await confirmPassword(c, password);
      await moveTo(c.var.ctx, target);
    },
    target,
  );
});

movingWeb.post("/admin/moving/cancel", async (c) => fromForm(c, "cancelled", () => cancelMove(c.var.ctx)));
