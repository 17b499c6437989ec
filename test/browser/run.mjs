#!/usr/bin/env node
// Every browser script against one Perch instance, in turn: the owner's sign-in, the relay page, the dashboard.
// Each script opens its own Chromium profile, so no cookie carries over from one to the next.
import dashboard from "./dashboard.mjs";
import ownerPages from "./owner-pages.mjs";
import relayPage from "./relay-page.mjs";
import { runScripts } from "./lib.mjs";

await runScripts("browser", [ownerPages, relayPage, dashboard]);
