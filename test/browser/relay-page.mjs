#!/usr/bin/env node
// The owner's relay page (/admin/relays) in a real browser, against a hashtag relay on loopback in
// the FediBuzz manner (`/tag/cats` is only an inbox; the relay signs as its `/actor`). The owner
// signs in and sees no relays; adds the relay by the form with a daily cap and languages, and sees it
// pending as a LitePub relay with those values; the relay gets Perch's signed Follow of the tag URL
// through the delivery queue; an ftp:// address and a rate cap of 0 are refused on the page with 422
// and the page stays usable; the relay's signed Accept makes it accepted; Disable, Enable and Remove
// work, and Remove sends the relay an Undo. Saves screenshots to .e2e/screenshots/relays-*.png.
// Run alone, or by test/browser/run.mjs with the other scripts. Prints "N passed, N failed" and
// exits non-zero on any failure.
import { createServer } from "node:http";
import { verifyRequest } from "@fedify/fedify/sig";
import { contextLoader, rsaKeyPair, signedPost } from "../e2e/fake-relay.mjs";
import { eventually, freePort } from "../e2e/lib.mjs";
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

const AP_JSON = "application/activity+json";
/** How long a delivery may take through Perch's queue under `wrangler dev` (batches wait ~1 s). */
const DELIVERY_MS = 20_000;

/**
 * A hashtag relay: `/tag/cats` takes POSTs (each recorded, with whether Fedify verified its HTTP
 * signature against the sender's actor document; 202 if it did, 401 if not), `/actor` is the relay
 * service's actor, whose key signs what `send` POSTs.
 */
async function startTagRelay(port) {
  const base = `http://127.0.0.1:${port}`;
  const actor = `${base}/actor`;
  const tagUrl = `${base}/tag/cats`;
  const { publicKeyPem, privateKey } = await rsaKeyPair();
  const key = { keyId: `${actor}#main-key`, privateKey };
  const document = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: actor,
    type: "Service",
    preferredUsername: "relay",
    inbox: `${base}/inbox`,
    outbox: `${base}/outbox`,
    followers: `${base}/followers`,
    following: `${base}/following`,
    publicKey: { id: key.keyId, owner: actor, publicKeyPem },
  };
  const documentLoader = async (url) => {
    const res = await fetch(url.split("#")[0], { headers: { accept: AP_JSON } });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return { contextUrl: null, documentUrl: url, document: await res.json() };
  };
  /** Every POST to the tag URL: the activity and whether its signature verified. */
  const received = [];

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = `${base}${req.url}`;
    if (req.method === "GET" && url === actor) {
      res.writeHead(200, { "content-type": AP_JSON });
      return res.end(JSON.stringify(document));
    }
    if (req.method !== "POST" || url !== tagUrl) return res.writeHead(404).end();
    let signer = null;
    try {
      const request = new Request(url, { method: "POST", headers: req.headers, body });
      signer = await verifyRequest(request, { documentLoader, contextLoader });
    } catch {
      signer = null;
    }
    let activity = null;
    try {
      activity = JSON.parse(body);
    } catch {
      // Recorded as null: the step that waits for it says what arrived.
    }
    received.push({ activity, verified: signer !== null });
    res.writeHead(signer ? 202 : 401).end();
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    base,
    actor,
    tagUrl,
    received,
    /** POSTs `activity` to `inbox`, signed by the relay's key; the status Perch answered. */
    async send(inbox, activity) {
      const prepared = await signedPost(inbox, activity, key);
      const res = await fetch(prepared.url, {
        method: "POST",
        headers: prepared.headers,
        body: prepared.body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    stop: () => server.close(),
  };
}

/** How often `wrangler dev` has reloaded the Worker so far (it does when a source file changes). */
const reloads = (I) => I.log().split("Reloading local server").length - 1;

export default async function relayPage({ I, step }) {
  const [relay, browser] = await step("Chromium and a hashtag relay on loopback start", async () =>
    Promise.all([startTagRelay(await freePort()), launchBrowser()]),
  );
  try {
    await relayScenario({ I, step, browser, relay });
  } finally {
    await browser.close();
    relay.stop();
  }
}

async function relayScenario({ I, step, browser, relay }) {
  const { page, complaints } = await openPage(browser.context);
  const instanceActor = `${I.base}/actor`;
  const card = page.locator("section.relay");
  const addForm = page.locator('form[action="/admin/relays"]');
  let followId;
  const reloadsAtStart = reloads(I);

  /**
   * Clicks a submit button and waits for the page the POST ends on; the POST's own status (a 303
   * redirect, or the 422 page itself).
   */
  async function submit(button, action) {
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === action),
      page.waitForEvent("load"),
      page.locator(button).click(),
    ]);
    return res.status();
  }

  async function expectStatus(button, action, want) {
    const got = await submit(button, action);
    if (got !== want) throw new Error(`POST ${action} answered ${got}, expected ${want}`);
  }

  async function fieldValue(scope, name) {
    return scope.locator(`[name="${name}"]`).inputValue();
  }

  /** The activities of `type` the relay received from Perch, each required to verify. */
  function receivedOf(type) {
    const got = relay.received.filter((r) => r.activity?.type === type);
    const unverified = got.find((r) => !r.verified);
    if (unverified) throw new Error(`a ${type} did not verify: ${JSON.stringify(unverified.activity)}`);
    return got.map((r) => r.activity);
  }

  /** The first `type` to reach the relay through Perch's delivery queue. */
  async function delivered(type) {
    try {
      return await eventually(`a ${type} at the relay`, async () => receivedOf(type)[0], DELIVERY_MS);
    } catch (e) {
      // In a shared checkout an edit under worker/ makes `wrangler dev` reload, which can lose what
      // was waiting in the local queue: say so rather than leave a bare timeout.
      if (reloads(I) > reloadsAtStart)
        e.message += " (wrangler dev reloaded the Worker meanwhile: a file it watches changed)";
      throw e;
    }
  }

  await step("the owner signs in and /admin/relays says there are no relays yet", async () => {
    await signIn(I, page, "/admin/relays");
    expectAt(I, page, "/admin/relays", "");
    await expectText(page, "h1", "Relays");
    await expectText(page, 'header a[aria-current="page"]', "Relays");
    await expectText(page, "body", "No relays yet.");
    if ((await card.count()) !== 0) throw new Error("a relay card on an instance without relays");
    console.log(`    ${await screenshot(page, "relays-empty")}`);
  });

  await step(
    "adding the relay by the form shows it pending, LitePub style, with the values given",
    async () => {
      await addForm.locator('[name="url"]').fill(relay.tagUrl);
      await addForm.locator('[name="dailyCap"]').fill("500");
      await addForm.locator('[name="languages"]').fill("en de");
      await expectStatus('form[action="/admin/relays"] button[type="submit"]', "/admin/relays", 303);
      expectAt(I, page, "/admin/relays", "?done=added");
      await expectText(page, '[role="status"]', "Relay added.");
      if ((await card.count()) !== 1) throw new Error(`${await card.count()} relay cards, expected 1`);
      await expectText(page, "section.relay h2", new URL(relay.base).host);
      await expectText(page, "section.relay p.muted", relay.tagUrl);
      await expectText(page, "section.relay p.muted", "LitePub style");
      await expectText(page, "section.relay .state", "pending");
      const values = {
        dailyCap: await fieldValue(card, "dailyCap"),
        rateCap: await fieldValue(card, "rateCap"),
        languages: await fieldValue(card, "languages"),
        tags: await fieldValue(card, "tags"),
      };
      const want = { dailyCap: "500", rateCap: "120", languages: "en de", tags: "" };
      if (JSON.stringify(values) !== JSON.stringify(want))
        throw new Error(`the relay's form shows ${JSON.stringify(values)}, expected ${JSON.stringify(want)}`);
      if (!(await card.locator('[name="sampling"]').isChecked())) throw new Error("sampling is not checked");
      if ((await card.locator('button[value="resubscribe"]').count()) !== 1)
        throw new Error("a pending relay offers no way to send the Follow again");
      console.log(`    ${await screenshot(page, "relays-pending")}`);
    },
  );

  await step("the relay receives Perch's signed Follow of the tag URL by the instance actor", async () => {
    const follow = await delivered("Follow");
    if (follow.actor !== instanceActor) throw new Error(`the Follow's actor is ${follow.actor}`);
    if (follow.object !== relay.tagUrl)
      throw new Error(`the Follow's object is ${JSON.stringify(follow.object)}`);
    if (typeof follow.id !== "string" || !follow.id.startsWith(`${I.base}/`))
      throw new Error(`the Follow's id is ${JSON.stringify(follow.id)}`);
    followId = follow.id;
  });

  await step("an ftp:// address is refused on the page with 422, the relay list still shown", async () => {
    const ftp = `ftp://${new URL(relay.base).host}/tag/cats`;
    await addForm.locator('[name="url"]').fill(ftp);
    await expectStatus('form[action="/admin/relays"] button[type="submit"]', "/admin/relays", 422);
    await expectText(page, '[role="alert"]', "The relay's address must be an http(s) URL");
    if ((await fieldValue(addForm, "url")) !== ftp) throw new Error("the form lost the address typed");
    if ((await card.count()) !== 1) throw new Error("the error page does not show the relay any more");
    console.log(`    ${await screenshot(page, "relays-error-url")}`);
  });

  await step("a rate cap of 0 is held back by Chromium, and refused with 422 when sent anyway", async () => {
    const form = card.locator("form");
    await form.locator('[name="rateCap"]').fill("0");
    const held = await form.evaluate((f) => ({
      valid: f.checkValidity(),
      underflow: f.querySelector('[name="rateCap"]').validity.rangeUnderflow,
    }));
    if (held.valid || !held.underflow)
      throw new Error(`Chromium would send rate cap 0: ${JSON.stringify(held)}`);
    // What a browser without constraint validation (or a hand-made request) sends.
    await form.evaluate((f) => (f.noValidate = true));
    await expectStatus(
      'section.relay button[value="save"]',
      new URL(await form.getAttribute("action"), I.base).pathname,
      422,
    );
    await expectText(page, '[role="alert"]', "Rate cap (per minute) must be at least 1");
    // Nothing was saved: the card shows the stored cap, and its forms still work (next steps).
    if ((await fieldValue(card, "rateCap")) !== "120") throw new Error("the refused rate cap was stored");
    console.log(`    ${await screenshot(page, "relays-error-rate-cap")}`);
  });

  await step("the relay's signed Accept of the Follow shows it accepted on reload", async () => {
    await page.goto(`${I.base}/admin/relays`);
    await expectText(page, "section.relay .state", "pending");
    const status = await relay.send(`${I.base}/actor/inbox`, {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${relay.actor}/activities/accept-1`,
      type: "Accept",
      actor: relay.actor,
      to: [instanceActor],
      object: followId,
    });
    if (status !== 202) throw new Error(`Perch answered the Accept with ${status}`);
    const res = await page.reload();
    if (res.status() !== 200) throw new Error(`the reload answered ${res.status()}`);
    await expectText(page, "section.relay .state", "accepted");
    if ((await card.locator('button[value="resubscribe"]').count()) !== 0)
      throw new Error("an accepted relay still offers to send the Follow again");
    console.log(`    ${await screenshot(page, "relays-accepted")}`);
  });

  await step("Disable marks the relay disabled, and Enable turns it back on", async () => {
    const action = new URL(await card.locator("form").getAttribute("action"), I.base).pathname;
    await expectStatus('section.relay button[value="disable"]', action, 303);
    expectAt(I, page, "/admin/relays", "?done=disable");
    await expectText(page, '[role="status"]', "Relay disabled");
    await expectText(page, "section.relay p:has(.state)", "disabled");
    await expectText(page, "section.relay .state", "accepted");
    await expectText(page, 'section.relay button[value="enable"]', "Enable");
    console.log(`    ${await screenshot(page, "relays-disabled")}`);
    await expectStatus('section.relay button[value="enable"]', action, 303);
    expectAt(I, page, "/admin/relays", "?done=enable");
    await expectText(page, '[role="status"]', "Relay enabled.");
    const line = (await card.locator("p:has(.state)").textContent()) ?? "";
    if (line.includes("disabled")) throw new Error(`an enabled relay reads "${line.trim()}"`);
    await expectText(page, 'section.relay button[value="disable"]', "Disable");
    // The settings survived both: disabling and enabling submit the whole form.
    if ((await fieldValue(card, "dailyCap")) !== "500") throw new Error("the daily cap changed");
  });

  await step("Remove sends the relay a signed Undo of its Follow and the page shows no relays", async () => {
    const action = new URL(await card.locator("form").getAttribute("action"), I.base).pathname;
    await expectStatus('section.relay button[value="remove"]', action, 303);
    expectAt(I, page, "/admin/relays", "?done=remove");
    await expectText(page, '[role="status"]', "Relay removed");
    await expectText(page, "body", "No relays yet.");
    if ((await card.count()) !== 0) throw new Error("the removed relay is still shown");
    console.log(`    ${await screenshot(page, "relays-removed")}`);
    const undo = await delivered("Undo");
    if (undo.actor !== instanceActor) throw new Error(`the Undo's actor is ${undo.actor}`);
    if (
      undo.object?.type !== "Follow" ||
      undo.object?.id !== followId ||
      undo.object?.object !== relay.tagUrl
    )
      throw new Error(`the Undo's object is ${JSON.stringify(undo.object)}`);
  });

  await step("no relay page broke its Content-Security-Policy or raised a script error", async () => {
    if (complaints.length) throw new Error(complaints.join("\n"));
  });
}

if (isMain(import.meta.url)) await runScripts("browser relay page", [relayPage]);
