#!/usr/bin/env node
// The owner's dashboard (/admin/dashboard) in a real browser. The owner signs in; the figures the
// page shows equal the JSON's taken just before (what the meter counted, plus that one request); the
// server-rendered SVG charts are drawn (not blank: a chart's pixels differ from an empty area of the
// same size in the screenshot); a delivery to a server that refuses it (400) becomes a dead letter,
// shown on the page, retried there (it fails again and comes back) and discarded there; no CSP
// violation or script error. Saves screenshots to .e2e/screenshots/dashboard-*.png.
// Run alone, or by test/browser/run.mjs with the other scripts. Prints "N passed, N failed" and
// exits non-zero on any failure.
import { createServer } from "node:http";
import { rsaKeyPair } from "../e2e/fake-relay.mjs";
import { eventually, freePort, ownerCall } from "../e2e/lib.mjs";
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

/** An actor whose inbox refuses everything with 400: deliveries to it end as dead letters. */
async function startRefusingServer(port) {
  const base = `http://127.0.0.1:${port}`;
  const id = `${base}/users/refuser`;
  const { publicKeyPem } = await rsaKeyPair();
  const document = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id,
    type: "Person",
    preferredUsername: "refuser",
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    followers: `${id}/followers`,
    following: `${id}/following`,
    publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem },
  };
  let refused = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/users/refuser") {
      res.writeHead(200, { "content-type": "application/activity+json" });
      res.end(JSON.stringify(document));
      return;
    }
    req.resume();
    refused++;
    res.writeHead(400, { "content-type": "text/plain" });
    res.end("no thanks");
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { id, refused: () => refused, stop: () => server.close() };
}

export default async function dashboard({ I, step }) {
  const browser = await step("Chromium starts", () => launchBrowser());
  const refuser = await startRefusingServer(await freePort());
  try {
    await run({ I, step, browser, refuser });
  } finally {
    refuser.stop();
    await browser.close();
  }
}

async function run({ I, step, browser, refuser }) {
  const { page, complaints } = await openPage(browser.context);
  await step("the owner signs in and lands on the dashboard", async () => {
    await signIn(I, page, "/admin/dashboard");
    expectAt(I, page, "/admin/dashboard");
    await expectText(page, "h1", "Dashboard");
  });

  await step("the page shows what the JSON just said, plus the one request that asked", async () => {
    const before = await (await page.request.get(`${I.base}/admin/api/dashboard`)).json();
    await page.goto(`${I.base}/admin/dashboard`);
    const shown = async (metric) =>
      Number(
        (await page.locator(`#plan-table tr[data-metric="${metric}"] td.used`).textContent()).replace(
          /,/g,
          "",
        ),
      );
    const requests = before.today.use.find((u) => u.metric === "requests").used;
    if ((await shown("requests")) !== requests + 1)
      throw new Error(
        `the page shows ${await shown("requests")} requests, the JSON said ${requests} before it`,
      );
    const written = before.today.use.find((u) => u.metric === "d1RowsWritten").used;
    if ((await shown("d1RowsWritten")) < written)
      throw new Error("the page shows fewer rows written than the JSON");
    console.log(`    ${requests + 1} requests, ${await shown("d1RowsRead")} rows read so far`);
  });

  await step("the charts are drawn, and not blank", async () => {
    const charts = page.locator("figure.chart svg");
    const n = await charts.count();
    if (n < 6) throw new Error(`${n} charts`);
    const box = await charts.first().boundingBox();
    if (!box || box.width < 300 || box.height < 60)
      throw new Error(`the first chart is ${JSON.stringify(box)}`);
    const bars = await page.locator("figure.chart rect").count();
    if (bars === 0) throw new Error("no bar drawn (the requests chart has this very hour's requests)");
    const chart = await charts.first().screenshot();
    const blank = await page.screenshot({
      clip: { x: 0, y: 0, width: box.width, height: box.height },
      fullPage: true,
    });
    if (chart.equals(blank)) throw new Error("the chart's pixels are those of an empty area");
    console.log(`    ${n} charts, ${bars} bars; ${await screenshot(page, "dashboard")}`);
  });

  await step("a refused delivery shows as a dead letter, which Retry sends again", async () => {
    await ownerCall(I, "POST", "/_perch/owner/follow", { target: refuser.id });
    await eventually(
      "the refused Follow to become a dead letter",
      async () => {
        await page.goto(`${I.base}/admin/dashboard`);
        return (await page.locator("ul.dead li").count()) > 0;
      },
      30_000,
    );
    await expectText(page, "ul.dead li", refuser.id.replace(/\/users\/refuser$/, ""));
    const refusedBefore = refuser.refused();
    await Promise.all([page.waitForURL(/done=retried/), page.click('ul.dead li button:has-text("Retry")')]);
    await expectText(page, ".notice", "Sent back to its queue.");
    await eventually(
      "the retried delivery to be refused again and come back",
      async () => {
        await page.goto(`${I.base}/admin/dashboard`);
        return refuser.refused() > refusedBefore && (await page.locator("ul.dead li").count()) > 0;
      },
      30_000,
    );
    console.log(`    ${await screenshot(page, "dashboard-dead-letter")}`);
  });

  await step("Discard removes it", async () => {
    await Promise.all([
      page.waitForURL(/done=discarded/),
      page.click('ul.dead li button:has-text("Discard")'),
    ]);
    await expectText(page, ".notice", "Dead letter discarded.");
    if ((await page.locator("ul.dead li").count()) !== 0) throw new Error("the dead letter is still shown");
    await expectText(page, "#dead-h", "Dead letters (0)");
  });

  await step("counting rows per table is offered, and shows the tables", async () => {
    await page.click("text=Count the rows of every table");
    await page.waitForURL(/rows=1/);
    await expectText(page, "#rows-table", "statuses");
  });

  await step("no dashboard page broke its Content-Security-Policy or raised a script error", async () => {
    if (complaints.length) throw new Error(complaints.join("\n"));
  });
}

if (isMain(import.meta.url)) await runScripts("browser dashboard", [dashboard]);
