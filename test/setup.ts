import { applyD1Migrations, env, reset } from "cloudflare:test";
import { beforeEach } from "vitest";
import { forgetIsolateCaches } from "../worker/lib/isolate-cache";

// Each test starts from an empty database with the schema applied: the same SQL files wrangler applies.
beforeEach(async () => {
  await reset();
  // The isolate (and every module's caches) outlives each test's database.
  forgetIsolateCaches();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});
