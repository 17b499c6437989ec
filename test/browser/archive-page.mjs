#!/usr/bin/env node
// The archive import page (/admin/archive) in a real browser. The owner picks a Mastodon-shaped
// archive of 21 MB (three parts of the upload) in the page's file input; the first upload is cut
// off at its second part (the network drops it), and the page says so; after a reload the same file
// is picked again and the upload resumes without sending the first part again, with the progress
// bar at 100% at the end; the import runs in the background and the page's report shows the posts,
// the media and the poll imported, and the boost of a post that is gone (410) skipped; the imported
// post is on the public profile with its old date. No CSP violation or script error.
// Saves screenshots to .e2e/screenshots/archive-*.png. Run alone, or by test/browser/run.mjs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { eventually } from "../e2e/lib.mjs";
import { expectText, isMain, launchBrowser, openPage, runScripts, screenshot, signIn } from "./lib.mjs";

const OLD = "https://old.example/users/alice";
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
/** A 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

/** A ZIP of stored entries, written the plain way (local headers, central directory, end record). */
function storedZip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(n.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    central.push(cd, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

function archive(gone) {
  const note = (n, published, object) => ({
    id: `${OLD}/statuses/${n}/activity`,
    type: "Create",
    actor: OLD,
    published,
    to: [PUBLIC],
    cc: [`${OLD}/followers`],
    object: {
      id: `${OLD}/statuses/${n}`,
      type: "Note",
      url: `https://old.example/@alice/${n}`,
      attributedTo: OLD,
      published,
      to: [PUBLIC],
      cc: [`${OLD}/followers`],
      tag: [],
      attachment: [],
      ...object,
    },
  });
  const outbox = {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: "outbox.json",
    type: "OrderedCollection",
    totalItems: 4,
    orderedItems: [
      note(1, "2021-03-04T05:06:07Z", {
        content: "<p>My first post from the old server</p>",
        attachment: [
          {
            type: "Document",
            mediaType: "image/png",
            url: "/system/media_attachments/files/1/original/dot.png",
            name: "A single dot",
          },
        ],
      }),
      note(2, "2021-03-05T05:06:07Z", { content: "<p>A second one</p>", inReplyTo: `${OLD}/statuses/1` }),
      {
        id: `${OLD}/statuses/3/activity`,
        type: "Announce",
        actor: OLD,
        published: "2021-03-06T05:06:07Z",
        to: [PUBLIC],
        object: gone,
      },
      note(4, "2021-03-07T05:06:07Z", {
        type: "Question",
        content: "<p>Tea or coffee?</p>",
        endTime: "2021-03-08T05:06:07Z",
        oneOf: [
          { type: "Note", name: "Tea", replies: { type: "Collection", totalItems: 3 } },
          { type: "Note", name: "Coffee", replies: { type: "Collection", totalItems: 5 } },
        ],
        votersCount: 8,
      }),
    ],
  };
  // Seeded filler, so the archive spans three upload parts of 10 MiB.
  const filler = Buffer.alloc(21 * 1024 * 1024);
  let x = 12345;
  for (let i = 0; i < filler.length; i += 4)
    filler.writeUInt32LE((x = (Math.imul(x, 1103515245) + 12345) >>> 0), i);
  return storedZip([
    ["outbox.json", Buffer.from(JSON.stringify(outbox))],
    ["actor.json", Buffer.from(JSON.stringify({ id: OLD, type: "Person", preferredUsername: "alice" }))],
    ["media_attachments/files/1/original/dot.png", PNG],
    ["filler.bin", filler],
  ]);
}

export default async function archivePage({ I, step }) {
  const browser = await step("Chromium starts", () => launchBrowser());
  // Where the boosted post was: a server on loopback that answers 410 Gone, so the boost is reported.
  const goneServer = createServer((req, res) => {
    req.resume();
    res.writeHead(410, { "content-type": "text/plain" }).end("gone");
  });
  await new Promise((r) => goneServer.listen(0, "127.0.0.1", r));
  const gone = `http://127.0.0.1:${goneServer.address().port}/notes/9`;
  const file = join(mkdtempSync(join(tmpdir(), "perch-archive-")), "archive-2021.zip");
  writeFileSync(file, archive(gone));
  try {
    const { page, complaints } = await openPage(browser.context);
    await step("the owner signs in", () => signIn(I, page, "/admin/archive"));
    const parts = [];
    page.on("request", (r) => {
      const m = /\/admin\/api\/archive\/uploads\/\d+\/parts\/(\d+)$/.exec(new URL(r.url()).pathname);
      if (m && r.method() === "PUT") parts.push(Number(m[1]));
    });

    await step("an upload cut off at its second part stops, and the page says how to resume", async () => {
      let dropped = false;
      await page.route(/\/parts\/2$/, (route) => {
        if (dropped) return route.continue();
        dropped = true;
        return route.abort("connectionreset");
      });
      await page.setInputFiles("#archive-file", file);
      await page.click('#archive-upload button[type="submit"]');
      await eventually("the page says the upload stopped", async () =>
        ((await page.locator('#archive-upload [role="status"]').textContent()) ?? "").includes("stopped"),
      );
      await expectText(page, '#archive-upload [role="status"]', "Pick the same file again to resume it");
      await page.unroute(/\/parts\/2$/);
      console.log(`    ${await screenshot(page, "archive-stopped")}`);
    });

    await step("after a reload, the same file resumes the upload without sending part 1 again", async () => {
      await page.reload();
      const before = parts.length;
      await page.setInputFiles("#archive-file", file);
      await page.click('#archive-upload button[type="submit"]');
      await eventually("the upload completes", async () =>
        ((await page.locator('#archive-upload [role="status"]').textContent()) ?? "").includes("Uploaded."),
      );
      const resumed = parts.slice(before);
      if (JSON.stringify(resumed) !== JSON.stringify([2, 3]))
        throw new Error(`after the reload the page sent parts ${JSON.stringify(resumed)}`);
      const bar = await page.locator("#archive-upload progress").evaluate((p) => [p.value, p.max]);
      if (bar[0] !== bar[1] || bar[1] <= 0) throw new Error(`the progress bar is at ${bar.join(" of ")}`);
    });

    await step("the import runs, and the report shows what came in and what was skipped", async () => {
      await eventually(
        "the report says done",
        async () => {
          await page.goto(`${I.base}/admin/archive`);
          const text = (await page.locator("main").textContent()) ?? "";
          return text.includes("archive-2021.zip") && /Done/.test(text);
        },
        90_000,
      );
      const rows = await page
        .locator("section.card table.figures tr")
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent?.trim())));
      const row = (kind) => rows.find((r) => r[0] === kind)?.slice(1);
      const want = { Posts: ["3", "0"], Media: ["1", "0"], Polls: ["1", ""], Boosts: ["0", "1"] };
      for (const [kind, figures] of Object.entries(want))
        if (JSON.stringify(row(kind)) !== JSON.stringify(figures))
          throw new Error(`${kind}: ${JSON.stringify(row(kind))}, expected ${JSON.stringify(figures)}`);
      console.log(`    ${await screenshot(page, "archive-report")}`);
    });

    await step("the imported post is on the public profile, with its old date", async () => {
      await page.goto(`${I.base}/@${I.username}`);
      await expectText(page, "body", "My first post from the old server");
      const dates = await page.locator("time").evaluateAll((ts) => ts.map((t) => t.getAttribute("datetime")));
      if (!dates.some((d) => d?.startsWith("2021-03-04")))
        throw new Error(`the profile's dates are ${JSON.stringify(dates)}`);
      console.log(`    ${await screenshot(page, "archive-profile")}`);
    });

    await step("no CSP violation or script error on these pages (but the reset this test caused)", () => {
      const caused = complaints.filter((c) => c.includes("ERR_CONNECTION_RESET"));
      const others = complaints.filter((c) => !c.includes("ERR_CONNECTION_RESET"));
      if (caused.length !== 1 || others.length > 0) throw new Error(complaints.join("\n"));
    });
  } finally {
    goneServer.close();
    await browser.close();
  }
}

if (isMain(import.meta.url)) await runScripts("archive page", [archivePage]);
