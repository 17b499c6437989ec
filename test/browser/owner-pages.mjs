#!/usr/bin/env node
// The owner's sign-in in a real browser: one Perch instance (`wrangler dev` on loopback) and headless
// Chromium. /admin sends a browser that is not signed in to the sign-in page; a wrong password is
// refused on the page; the right one opens /admin with a __Host- session cookie Chromium accepted;
// a reload keeps the session; signing out returns to the sign-in page, and /admin asks again. Saves
// screenshots to .e2e/screenshots/. Run alone, or by test/browser/run.mjs with the other scripts.
// Prints "N passed, N failed" and exits non-zero on any failure.
import { PASSWORD } from "../e2e/lib.mjs";
import { expectAt, expectText, isMain, launchBrowser, openPage, runScripts, screenshot } from "./lib.mjs";

export default async function ownerPages({ I, step }) {
  const browser = await step("Chromium starts", () => launchBrowser());
  try {
    await signInAndOut({ I, step, browser });
  } finally {
    await browser.close();
  }
}

async function signInAndOut({ I, step, browser }) {
  const { page, complaints } = await openPage(browser.context);

  await step(
    "/admin sends a browser that is not signed in to /login, which comes back to /admin",
    async () => {
      const res = await page.goto(`${I.base}/admin`);
      expectAt(I, page, "/login", "?next=%2Fadmin");
      if (res.status() !== 200) throw new Error(`the sign-in page answered ${res.status()}`);
      await expectText(page, "h1", "Sign in");
      console.log(`    ${await screenshot(page, "login")}`);
    },
  );

  await step("a wrong password is refused on the page, which offers the form again", async () => {
    await page.fill('input[name="password"]', "not the password");
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/login"),
      page.click('button[type="submit"]'),
    ]);
    await page.waitForLoadState();
    if (res.status() !== 401) throw new Error(`a wrong password answered ${res.status()}`);
    await expectText(page, '[role="alert"]', "That password is not right.");
    if ((await page.locator('input[name="password"]').count()) !== 1) throw new Error("no form to try again");
    console.log(`    ${await screenshot(page, "login-wrong-password")}`);
  });

  await step("the right password opens /admin, with a session cookie Chromium kept as sent", async () => {
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${I.base}/admin`), page.click('button[type="submit"]')]);
    expectAt(I, page, "/admin", "");
    await expectText(page, "h1", "Admin");
    const cookies = await browser.context.cookies(I.base);
    const session = cookies.find((c) => c.name === "__Host-perch_session");
    if (!session)
      throw new Error(`no session cookie among ${cookies.map((c) => c.name).join(", ") || "none"}`);
    if (!session.httpOnly || !session.secure || session.sameSite !== "Strict" || session.path !== "/")
      throw new Error(`the session cookie is ${JSON.stringify(session)}`);
    if (cookies.some((c) => c.name === "__Host-perch_login_csrf"))
      throw new Error("the sign-in form's CSRF cookie outlived the sign-in");
    console.log(`    ${await screenshot(page, "admin")}`);
  });

  await step("a reload keeps the session", async () => {
    const res = await page.reload();
    expectAt(I, page, "/admin", "");
    if (res.status() !== 200) throw new Error(`/admin answered ${res.status()} on reload`);
    await expectText(page, "h1", "Admin");
  });

  await step("signing out returns to /login", async () => {
    await Promise.all([page.waitForURL(`${I.base}/login`), page.click('header button[type="submit"]')]);
    expectAt(I, page, "/login", "");
    const cookies = await browser.context.cookies(I.base);
    if (cookies.some((c) => c.name === "__Host-perch_session"))
      throw new Error("the session cookie is still there after signing out");
  });

  await step("/admin asks to sign in again", async () => {
    await page.goto(`${I.base}/admin`);
    expectAt(I, page, "/login", "?next=%2Fadmin");
    await expectText(page, "h1", "Sign in");
  });

  await step("no page broke its Content-Security-Policy or raised a script error", async () => {
    if (complaints.length) throw new Error(complaints.join("\n"));
  });
}

if (isMain(import.meta.url)) await runScripts("browser owner pages", [ownerPages]);
