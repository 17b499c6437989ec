import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { HttpError } from "../lib/errors";
import { readJsonBody } from "../lib/json-body";
import { flushRelayCounts, hourOf, relayHours, sumCounts } from "../services/relay-accounting";
import { retentionDays, setRetentionDays } from "../services/relay-posts";
import {
  findRelay,
  listRelays,
  RelayError,
  RelaySettings,
  removeRelay,
  resubscribeRelay,
  subscribeRelay,
  updateRelay,
} from "../services/relays";
import { relaysPage, relayTitle, withStats } from "./relay-page";
import { requireCsrf, requireOwnerSession } from "./session";

/**
 * The owner's relays: a page (/admin/relays, forms that work without JavaScript) and the same as
 * JSON (/admin/api/relays), both behind the owner's login, every change CSRF-checked.
 */
export const relayWeb = new Hono<AppEnv>();

for (const path of ["/admin/relays", "/admin/relays/*", "/admin/api/relays", "/admin/api/relays/*"]) {
  relayWeb.use(path, requireOwnerSession, requireCsrf);
}

const MAX_BODY = 16 * 1024;

function relayErrorStatus(e: unknown): never {
  if (e instanceof RelayError) throw new HttpError(e.status, e.message, "relay");
  throw e;
}

// --- JSON ---------------------------------------------------------------------------------------

const jsonBody = <T extends z.ZodType>(c: Context<AppEnv>, schema: T) =>
  readJsonBody(c.req.raw, schema, MAX_BODY);

const NewRelay = RelaySettings.extend({ url: z.string().min(1).max(2048) });

relayWeb.get("/admin/api/relays", async (c) => {
  const ctx = c.var.ctx;
  await flushRelayCounts(ctx);
  const rows = await listRelays(ctx);
  return c.json({
    relays: await Promise.all(rows.map((r) => withStats(ctx, r))),
    retentionDays: await retentionDays(ctx),
  });
});

relayWeb.post("/admin/api/relays", async (c) => {
  const input = await jsonBody(c, NewRelay);
  const relay = await subscribeRelay(c.var.ctx, input).catch(relayErrorStatus);
  return c.json(relay, 201);
});

relayWeb.patch("/admin/api/relays/:id", async (c) => {
  const input = await jsonBody(c, RelaySettings);
  return c.json(await updateRelay(c.var.ctx, c.req.param("id"), input).catch(relayErrorStatus));
});

relayWeb.delete("/admin/api/relays/:id", async (c) => {
  await removeRelay(c.var.ctx, c.req.param("id")).catch(relayErrorStatus);
  return c.body(null, 204);
});

relayWeb.post("/admin/api/relays/:id/resubscribe", async (c) => {
  return c.json(await resubscribeRelay(c.var.ctx, c.req.param("id")).catch(relayErrorStatus));
});

relayWeb.get("/admin/api/relays/:id/stats", async (c) => {
  const ctx = c.var.ctx;
  const relay = await findRelay(ctx, c.req.param("id"));
  if (!relay) throw new HttpError(404, "No such relay", "not_found");
  await flushRelayCounts(ctx);
  const hoursBack = Math.min(24 * 14, Math.max(1, Number(c.req.query("hours") ?? 48) || 48));
  const hours = await relayHours(ctx, relay.id, hourOf(new Date(Date.now() - (hoursBack - 1) * 3_600_000)));
  return c.json({ hours, totals: sumCounts(hours) });
});

relayWeb.put("/admin/api/relays/retention", async (c) => {
  const { days } = await jsonBody(c, z.object({ days: z.number().int().min(1).max(365) }));
  await setRetentionDays(c.var.ctx, days);
  return c.json({ retentionDays: await retentionDays(c.var.ctx) });
});

// --- HTML ---------------------------------------------------------------------------------------

/** A form's fields as the settings schema takes them; empty fields are left unchanged. */
async function formSettings(c: Context<AppEnv>) {
  const form = await c.req.parseBody();
  const str = (k: string) => (typeof form[k] === "string" ? (form[k] as string).trim() : "");
  const int = (k: string) => (str(k) === "" ? undefined : Number(str(k)));
  const list = (k: string) =>
    str(k) === ""
      ? []
      : str(k)
          .split(/[\s,]+/)
          .filter(Boolean);
  const settings = {
    dailyCap: int("dailyCap"),
    rateCap: int("rateCap"),
    languages: list("languages"),
    tags: list("tags"),
    sampling: form.sampling === "on",
  };
  return { url: str("url"), settings, form };
}

const LABELS: Record<string, string> = {
  dailyCap: "Daily cap",
  rateCap: "Rate cap (per minute)",
  languages: "Languages",
  tags: "Hashtags",
};

/** What was wrong with a form, in the page's own words. */
function settingsError(r: z.ZodSafeParseError<unknown>, relay?: string): string {
  const what = r.error.issues.map((i) => {
    const field = LABELS[String(i.path[0])] ?? String(i.path[0]);
    if (i.code === "too_small") return `${field} must be at least ${String(i.minimum)}`;
    if (i.code === "too_big") return `${field} must be at most ${String(i.maximum)}`;
    if (i.code === "invalid_type") return `${field} must be a whole number`;
    return `${field}: ${i.message}`;
  });
  return `${relay ? `${relay}: ` : ""}${[...new Set(what)].join("; ")}.`;
}

relayWeb.get("/admin/relays", async (c) => c.html(await relaysPage(c)));

relayWeb.post("/admin/relays", async (c) => {
  const { url, settings } = await formSettings(c);
  const parsed = RelaySettings.safeParse(settings);
  if (!parsed.success)
    return c.html(await relaysPage(c, { error: settingsError(parsed), url, typed: settings }), 422);
  try {
    await subscribeRelay(c.var.ctx, { url, ...parsed.data });
  } catch (e) {
    if (e instanceof RelayError)
      return c.html(await relaysPage(c, { error: e.message, url, typed: settings }), e.status);
    throw e;
  }
  return c.redirect("/admin/relays?done=added", 303);
});

relayWeb.post("/admin/relays/retention", async (c) => {
  const form = await c.req.parseBody();
  const days = Number(typeof form.days === "string" ? form.days : NaN);
  if (!Number.isInteger(days) || days < 1 || days > 365)
    return c.html(await relaysPage(c, { error: "Keep relayed posts between 1 and 365 days." }), 422);
  await setRetentionDays(c.var.ctx, days);
  return c.redirect("/admin/relays?done=retention", 303);
});

relayWeb.post("/admin/relays/:id", async (c) => {
  const { settings, form } = await formSettings(c);
  const parsed = RelaySettings.safeParse(settings);
  const action = typeof form.action === "string" ? form.action : "save";
  const ctx = c.var.ctx;
  const id = c.req.param("id");
  if (action === "save" && !parsed.success) {
    const relay = await findRelay(ctx, id);
    return c.html(
      await relaysPage(c, { error: settingsError(parsed, relay ? relayTitle(relay) : undefined) }),
      422,
    );
  }
  try {
    if (action === "remove") await removeRelay(ctx, id);
    else if (action === "resubscribe") await resubscribeRelay(ctx, id);
    else if (action === "disable") await updateRelay(ctx, id, { enabled: false });
    else if (action === "enable") await updateRelay(ctx, id, { enabled: true });
    else if (parsed.success) await updateRelay(ctx, id, parsed.data);
  } catch (e) {
    if (e instanceof RelayError) return c.html(await relaysPage(c, { error: e.message }), e.status);
    throw e;
  }
  return c.redirect(`/admin/relays?done=${encodeURIComponent(action)}`, 303);
});
