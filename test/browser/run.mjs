#!/usr/bin/env node
// Every browser script against one Perch instance, in turn: the owner's sign-in, the relay page, the dashboard, the archive import, the import and moving pages.
// Each script opens its own Chromium profile, so no cookie carries over from one to the next.
import dashboard from "./dashboard.mjs";
import ownerPages from "./owner-pages.mjs";
import archivePage from "./archive-page.mjs";
import relayPage from "./relay-page.mjs";
import movingAndImports from "./moving-and-imports.mjs";
import { runScripts } from "./lib.mjs";

await runScripts("browser", [ownerPages, relayPage, dashboard, archivePage, movingAndImports]);
