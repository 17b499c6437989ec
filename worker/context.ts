import type { Config } from "./config";
import { openDb, type DB } from "./db/client";
import type { Bindings } from "./env";
import { loadInstance, type Instance } from "./services/instance";
import { meteredBindings } from "./services/usage-bindings";

/**
 * What domain services get: the bindings, the configuration and the database, built per request or
 * per queue batch. Services never see Hono or Request objects.
 */
export interface Ctx {
  env: Bindings;
  config: Config;
  db: DB;
  /** The local identity and keys, loaded (and on first start created) once per Ctx. */
  instance(): Promise<Instance>;
  /** Keeps a promise alive after the response (ExecutionContext.waitUntil), or awaits it when absent. */
  waitUntil(promise: Promise<unknown>): void;
}

export function createCtx(
  env: Bindings,
  config: Config,
  execution?: { waitUntil(p: Promise<unknown>): void },
): Ctx {
  const db = openDb(env.DB);
  let loaded: Promise<Instance> | undefined;
  const ctx: Ctx = {
    // R2 and Queue calls counted by the usage meter (services/usage.ts).
    env: meteredBindings(env),
    config,
    db,
    instance: () => (loaded ??= loadInstance(db, config)),
    waitUntil: (p) => {
      if (execution) execution.waitUntil(p);
      else void p;
    },
  };
  return ctx;
}
