#!/usr/bin/env node
// The owner's import and moving pages in a real browser.
// - /admin/imports: a file of another kind than chosen is refused on the page (422, the form again); a blocked-domains CSV picked in the file input is imported in the background, the job's
//   page shows it finished with every row done, and the export link downloads the same domains.
// - /admin/moving: an old account (an actor served on loopback) is added as an alias and listed, then
//   removed; a move to an account that does not list this one as an alias is refused on the page; a
//   move with a wrong password is refused and moves nothing; with the password, the page shows the
//   redirect and the public profile says where the account went; removing the redirect clears both.
// No CSP violation or script error on any page. Saves screenshots to .e2e/screenshots/moving-*.png
// and imports-*.png. Run alone, or by test/browser/run.mjs with the other scripts (this one last: it
// moves the account, and takes the move back, but the 30-day cooldown stays).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { rsaKeyPair } from "../e2e/fake-relay.mjs";
import { PASSWORD, eventually, freePort } from "../e2e/lib.mjs";
import {
  expectAt,
  expectText,
  isMain,
  launchBrowser,
  openPage,
  runScripts,
  screenshot,
  signIn,
} from "./lib.mjs";

/** Actors on loopback: `old` and `next` list the Perch account in alsoKnownAs, `stranger` does not. */
async function startActors(port, perchActor) {
  const base = `http://127.0.0.1:${port}`;
  const { publicKeyPem } = await rsaKeyPair();
  const actor = (name, aka) => ({
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: `${base}/users/${name}`,
    type: "Person",
    preferredUsername: name,
    inbox: `${base}/users/${name}/inbox`,
    outbox: `${base}/users/${name}/outbox`,
    followers: `${base}/users/${name}/followers`,
    following: `${base}/users/${name}/following`,
    alsoKnownAs: aka,
    publicKey: { id: `${base}/users/${name}#main-key`, owner: `${base}/users/${name}`, publicKeyPem },
  });
  const actors = {
    "/users/old": actor("old", [perchActor]),
    "/users/next": actor("next", [perchActor]),
    "/users/stranger": actor("stranger", []),
  };
  const server = createServer((req, res) => {
    const doc = req.method === "GET" ? actors[req.url ?? ""] : undefined;
    if (doc) {
      res.writeHead(200, { "content-type": "application/activity+json" });
      res.end(JSON.stringify(doc));
      return;
    }
    req.resume();
    res.writeHead(req.method === "POST" ? 202 : 404).end();
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { url: (name) => `${base}/users/${name}`, stop: () => server.close() };
}

export default async function movingAndImports({ I, step }) {
  const browser = await step("Chromium starts", () => launchBrowser());
  const actors = await startActors(await freePort(), I.actor);
  try {
    const { page, complaints } = await openPage(browser.context);
    await step("the owner signs in", () => signIn(I, page, "/admin/imports"));
    await imports({ I, step, page });
    await moving({ I, step, page, actors });
    await step("no CSP violation or script error on these pages", () => {
      if (complaints.length > 0) throw new Error(complaints.join("\n"));
    });
  } finally {
    actors.stop();
    await browser.close();
  }
}

async function imports({ I, step, page }) {
  const submit = async (kind, name, content) => {
    await page.goto(`${I.base}/admin/imports`);
    await page.selectOption("#kind", kind);
    await page.setInputFiles("#file", { name, mimeType: "text/csv", buffer: Buffer.from(content) });
    const [res] = await Promise.all([
      page.waitForResponse(
        (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/admin/imports",
      ),
      page.click('form[action="/admin/imports"] button[type="submit"]'),
    ]);
    await page.waitForLoadState();
    return res;
  };

  await step("a lists CSV sent as a following list is refused on the page, with the form again", async () => {
    const res = await submit(
      "following",
      "lists.csv",
      "List name,Account address\nFriends,bob@example.org\n",
    );
    if (res.status() !== 422) throw new Error(`the import answered ${res.status()}`);
    await expectText(page, '[role="alert"]', "");
    if ((await page.locator('[role="alert"]').count()) !== 1) throw new Error("no error shown");
    if ((await page.locator("#file").count()) !== 1) throw new Error("no form to try again");
    console.log(`    ${await screenshot(page, "imports-refused")}`);
  });

  await step(
    "a blocked-domains CSV is imported in the background and its page shows every row done",
    async () => {
      const res = await submit("domain_blocking", "blocked_domains.csv", "spam.example\nads.example.net\n");
      if (res.status() !== 303 && res.status() !== 200)
        throw new Error(`the import answered ${res.status()}`);
      if (!/^\/admin\/imports\/\d+$/.test(new URL(page.url()).pathname))
        throw new Error(`after the import the page is ${page.url()}`);
      await eventually("the import finishes", async () => {
        await page.reload();
        const done = (await page.locator('[data-count="done"]').first().textContent())?.trim();
        const pending = (await page.locator('[data-count="pending"]').first().textContent())?.trim();
        return done === "2" && pending === "0";
      });
      await expectText(page, '[data-count="failed"]', "0");
      console.log(`    ${await screenshot(page, "imports-finished")}`);
    },
  );

  await step("the export link downloads the blocked domains, as Mastodon writes them", async () => {
    await page.goto(`${I.base}/admin/imports`);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('a[href="/admin/exports/blocked_domains.csv"]'),
    ]);
    const text = readFileSync(await download.path(), "utf8");
    const domains = text.trim().split(/\r?\n/).sort();
    if (JSON.stringify(domains) !== JSON.stringify(["ads.example.net", "spam.example"]))
      throw new Error(`the export holds ${JSON.stringify(text)}`);
    if (download.suggestedFilename() !== "blocked_domains.csv")
      throw new Error(`the download is named ${download.suggestedFilename()}`);
  });
}

async function moving({ I, step, page, actors }) {
  const moveForm = 'form[action="/admin/moving/move"]';
  const post = async (action, click) => {
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === action),
      page.click(click),
    ]);
    await page.waitForLoadState();
    return res;
  };

  await step("an old account is added as an alias, listed, and removed again", async () => {
    await page.goto(`${I.base}/admin/moving`);
    await expectText(page, "h1", "Moving");
    await page.fill("#alias", actors.url("old"));
    await post("/admin/moving/aliases", 'form[action="/admin/moving/aliases"] button[type="submit"]');
    expectAt(I, page, "/admin/moving", "?done=added");
    await expectText(page, '[role="status"]', "Alias added");
    await expectText(page, "section.card ul code", actors.url("old"));
    console.log(`    ${await screenshot(page, "moving-alias")}`);
    await post(
      "/admin/moving/aliases/remove",
      'form[action="/admin/moving/aliases/remove"] button[type="submit"]',
    );
    expectAt(I, page, "/admin/moving", "?done=removed");
    if ((await page.locator("section.card ul code").count()) !== 0)
      throw new Error("the alias is still listed");
  });

  await step(
    "a move to an account that does not list this one as an alias is refused on the page",
    async () => {
      await page.fill("#target", actors.url("stranger"));
      await page.fill("#move-password", PASSWORD);
      const res = await post("/admin/moving/move", `${moveForm} button[type="submit"]`);
      if (res.status() < 400 || res.status() >= 500) throw new Error(`the move answered ${res.status()}`);
      if ((await page.locator('[role="alert"]').count()) !== 1) throw new Error("no error shown");
      if ((await page.locator(moveForm).count()) !== 1) throw new Error("no form to try again");
      console.log(`    ${await screenshot(page, "moving-refused")}`);
    },
  );

  await step("a move with a wrong password is refused (422) and moves nothing", async () => {
    await page.fill("#target", actors.url("next"));
    await page.fill("#move-password", "not the password");
    const res = await post("/admin/moving/move", `${moveForm} button[type="submit"]`);
    if (res.status() !== 422) throw new Error(`a wrong password answered ${res.status()}`);
    if ((await page.locator('form[action="/admin/moving/cancel"]').count()) !== 0)
      throw new Error("the account moved anyway");
  });

  await step("with the password, the account moves: the page and the profile say where", async () => {
    await page.fill("#target", actors.url("next"));
    await page.fill("#move-password", PASSWORD);
    await post("/admin/moving/move", `${moveForm} button[type="submit"]`);
    expectAt(I, page, "/admin/moving", "?done=moved");
    await expectText(page, '[role="status"]', "Moved.");
    if ((await page.locator(`a[href="${actors.url("next")}"]`).count()) < 1)
      throw new Error("the page does not link the new account");
    console.log(`    ${await screenshot(page, "moving-moved")}`);
    const actor = await (await fetch(I.actor, { headers: { accept: "application/activity+json" } })).json();
    if (actor.movedTo !== actors.url("next")) throw new Error(`the actor's movedTo is ${actor.movedTo}`);
  });

  await step("removing the redirect clears it; the cooldown stays on the page", async () => {
    await post("/admin/moving/cancel", 'form[action="/admin/moving/cancel"] button[type="submit"]');
    expectAt(I, page, "/admin/moving", "?done=cancelled");
    if ((await page.locator('form[action="/admin/moving/cancel"]').count()) !== 0)
      throw new Error("the redirect is still there");
    if ((await page.locator(moveForm).count()) !== 0)
      throw new Error("a new move is offered inside the cooldown");
    const actor = await (await fetch(I.actor, { headers: { accept: "application/activity+json" } })).json();
    if (actor.movedTo) throw new Error(`the actor still has movedTo ${actor.movedTo}`);
    console.log(`    ${await screenshot(page, "moving-cancelled")}`);
  });
}

if (isMain(import.meta.url)) await runScripts("moving and imports", [movingAndImports]);
