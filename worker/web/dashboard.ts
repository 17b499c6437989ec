import { Hono } from "hono";
import type { AppEnv } from "../app";
import { HttpError } from "../lib/errors";
import { loadDashboard, rowsPerTable } from "../services/dashboard";
import { DeadLetterError, discardDeadLetter, retryDeadLetter } from "../services/dead-letter-actions";
import { dashboardPage } from "./dashboard-page";
import { ownerSessionOf, requireCsrf, requireOwnerSession } from "./session";

/**
 * The owner's dashboard: /admin/dashboard (HTML, usable without JavaScript) and
 * /admin/api/dashboard (the same figures as JSON), with dead letters retried or discarded by forms
 * and by JSON. Behind the owner's login; every change CSRF-checked.
 */
export const dashboardWeb = new Hono<AppEnv>();

for (const path of [
  "/admin/dashboard",
  "/admin/dead-letters/*",
  "/admin/api/dashboard",
  "/admin/api/dead-letters/*",
]) {
  dashboardWeb.use(path, requireOwnerSession, requireCsrf);
}

const ID = /^\d{1,20}$/;

function deadLetterId(id: string): string {
  if (!ID.test(id)) throw new HttpError(404, "No such dead letter", "not_found");
  return id;
}

function asHttp(e: unknown): never {
  if (e instanceof DeadLetterError) throw new HttpError(e.status, e.message, "dead_letter");
  throw e;
}

dashboardWeb.get("/admin/api/dashboard", async (c) => c.json(await loadDashboard(c.var.ctx)));

dashboardWeb.get("/admin/api/dashboard/rows", async (c) => c.json(await rowsPerTable(c.var.ctx)));

dashboardWeb.get("/admin/dashboard", async (c) => {
  const ctx = c.var.ctx;
  const [d, rows] = await Promise.all([
    loadDashboard(ctx),
    c.req.query("rows") === "1" ? rowsPerTable(ctx) : Promise.resolve(undefined),
  ]);
  return c.html(dashboardPage(d, ownerSessionOf(c).csrfToken, { done: c.req.query("done"), rows }));
});

dashboardWeb.post("/admin/dead-letters/:id/retry", async (c) => {
  await retryDeadLetter(c.var.ctx, deadLetterId(c.req.param("id"))).catch(asHttp);
  return c.redirect("/admin/dashboard?done=retried#dead-h", 303);
});

dashboardWeb.post("/admin/dead-letters/:id/discard", async (c) => {
  if (!(await discardDeadLetter(c.var.ctx, deadLetterId(c.req.param("id"))))) {
    throw new HttpError(404, "No such dead letter", "not_found");
  }
  return c.redirect("/admin/dashboard?done=discarded#dead-h", 303);
});

dashboardWeb.post("/admin/api/dead-letters/:id/retry", async (c) => {
  await retryDeadLetter(c.var.ctx, deadLetterId(c.req.param("id"))).catch(asHttp);
  return c.json({ retried: true });
});

dashboardWeb.delete("/admin/api/dead-letters/:id", async (c) => {
  if (!(await discardDeadLetter(c.var.ctx, deadLetterId(c.req.param("id"))))) {
    throw new HttpError(404, "No such dead letter", "not_found");
  }
  return c.json({ discarded: true });
});
