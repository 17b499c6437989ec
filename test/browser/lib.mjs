// Shared by the browser scripts: one Perch instance (`wrangler dev` on loopback) that several scripts
// run against in turn, a headless Chromium (Debian's, not a downloaded one) driven by playwright-core,
// each script in a fresh profile, the owner's sign-in, and screenshots of what it showed.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { dumpLogs, freePort, PASSWORD, startInstance, stepper, waitUp } from "../e2e/lib.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = ".e2e/screenshots";
// Under .e2e/ (gitignored) but not .e2e itself, which the federation script clears when it starts.
const STATE = ".e2e/browser";

/**
 * Launches Chromium headless in a new, empty user-data directory: no cookies, cache or sign-ins
 * from an earlier run. Off: the sandbox (CI containers run as root), the GPU, QUIC, and everything
 * that would reach out to Google's services during the run.
 */
export async function launchBrowser() {
  const userDataDir = mkdtempSync(join(tmpdir(), "perch-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1024, height: 720 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * Opens a page that records what the browser complained about (a CSP violation, a script error), so
 * a step can require that a page rendered without any. Error statuses are not complaints: a 401
 * sign-in page and the favicon's 404 are answers the scripts expect.
 */
export async function openPage(context) {
  const page = context.pages()[0] ?? (await context.newPage());
  const complaints = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded"))
      complaints.push(m.text());
  });
  page.on("pageerror", (e) => complaints.push(String(e)));
  return { page, complaints };
}

/** Saves a full-page screenshot as .e2e/screenshots/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Throws unless the page is at `path` (and `search`, when given) on the instance. */
export function expectAt(I, page, path, search) {
  const url = new URL(page.url());
  if (url.origin !== I.base || url.pathname !== path || (search !== undefined && url.search !== search))
    throw new Error(`at ${page.url()}, expected ${I.base}${path}${search ?? ""}`);
}

/** Throws unless the first element matching `selector` shows `text`. */
export async function expectText(page, selector, text) {
  const shown = (await page.locator(selector).first().textContent({ timeout: 5000 }))?.trim() ?? "";
  if (!shown.includes(text)) throw new Error(`${selector} shows "${shown}", expected "${text}"`);
}

/** Signs in on /login with the owner password, as a person does, and ends on `next`. */
export async function signIn(I, page, next = "/admin") {
  await page.goto(`${I.base}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="password"]', PASSWORD);
  await Promise.all([page.waitForURL(`${I.base}${next}`), page.click('button[type="submit"]')]);
}

/** True when the module at `url` is the script node was started with (not imported by a runner). */
export function isMain(url) {
  return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === url;
}

/**
 * Starts one Perch instance and runs `scripts` against it in turn, each an `async ({ I, step })`
 * that opens its own browser. The first failing step stops the run and prints the instance's log.
 * Prints "<title>: N passed, N failed" and exits non-zero on any failure.
 */
export async function runScripts(title, scripts) {
  const { step, counts } = stepper();
  rmSync(STATE, { recursive: true, force: true });
  const [port, inspector] = await Promise.all([freePort(), freePort()]);
  const I = startInstance(STATE, "owner", "alice", port, inspector);
  const stop = () => I.child.kill("SIGTERM");
  process.on("exit", stop);
  console.log(`browser: ${I.base}`);
  try {
    await step("the instance starts", () => waitUp(I));
    for (const script of scripts) await script({ I, step });
  } catch (e) {
    // A script that broke outside a step still fails the run.
    if (!counts.failed) {
      counts.failed++;
      console.log(`  ✗ ${e instanceof Error ? (e.stack ?? e.message) : e}`);
    }
    dumpLogs([I]);
  } finally {
    stop();
  }
  console.log(`\n${title}: ${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed ? 1 : 0);
}
