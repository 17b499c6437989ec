import type { Bindings } from "./env";

/** Configuration built per request (or per queue batch) from the bindings; never at module load. */
export interface Config {
  /** The handle's domain: USERNAME@accountDomain. */
  accountDomain: string;
  /** Where the Worker answers; every local URI lives here. */
  webDomain: string;
  username: string;
  allowLoopback: boolean;
  /** "https" normally; "http" only for a loopback WEB_DOMAIN in loopback mode. */
  scheme: "https" | "http";
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;
const DOMAIN = /^[a-z0-9.-]+(?::\d{1,5})?$|^\[::1\](?::\d{1,5})?$/i;
const USERNAME = /^[a-z0-9_]{1,30}$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOST.test(host);
}

/**
 * Reads the configuration. `requestHost` is the host the request arrived on: in local dev, when the
 * domains are not set, they default to it (localhost:PORT).
 */
export function readConfig(env: Bindings, requestHost?: string): Config {
  const webDomain = (env.WEB_DOMAIN || requestHost || "").toLowerCase();
  const accountDomain = (env.ACCOUNT_DOMAIN || webDomain).toLowerCase();
  const username = env.USERNAME || "me";
  const allowLoopback = env.ALLOW_LOOPBACK_FEDERATION === "true";
  if (!webDomain) throw new ConfigError("WEB_DOMAIN is not set and there is no request host to default to.");
  if (!DOMAIN.test(webDomain)) throw new ConfigError(`WEB_DOMAIN "${webDomain}" is not a domain name.`);
  if (!DOMAIN.test(accountDomain))
    throw new ConfigError(`ACCOUNT_DOMAIN "${accountDomain}" is not a domain name.`);
  if (!USERNAME.test(username))
    throw new ConfigError(`USERNAME "${username}" must be 1–30 letters, digits or underscores.`);
  if (allowLoopback && !isLoopbackHost(webDomain)) {
    throw new ConfigError(
      `ALLOW_LOOPBACK_FEDERATION is "true" but WEB_DOMAIN "${webDomain}" is not a loopback host. ` +
        "Loopback federation (plain http, private addresses) is only for local testing; remove it in production.",
    );
  }
  const scheme = allowLoopback || isLoopbackHost(webDomain) ? "http" : "https";
  return { accountDomain, webDomain, username, allowLoopback, scheme };
}
