// The pure part of `npm run dev` (scripts/dev.mjs): what to pass to `wrangler dev` and where to seed
// the owner, from the flags given and the text of .dev.vars. No I/O here, so tests can run it.

/** The value of `--name value` or `--name=value`, or undefined. */
function flag(args, name) {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
}

/**
 * Variables set with `--var KEY:VALUE` (wrangler takes several after one `--var`, up to the next
 * flag), `--var=KEY:VALUE`, or `KEY=VALUE` lines in .dev.vars; later ones win, as in wrangler.
 */
export function givenVars(args, devVars = "") {
  const vars = new Map();
  for (const line of devVars.split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars.set(m[1], m[2].replace(/^(["'])(.*)\1$/, "$2"));
  }
  const set = (pair) => {
    const at = pair.indexOf(":");
    if (at > 0) vars.set(pair.slice(0, at), pair.slice(at + 1));
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith("--var=")) set(args[i].slice("--var=".length));
    else if (args[i] === "--var")
      for (; i + 1 < args.length && !args[i + 1].startsWith("-"); i++) set(args[i + 1]);
  }
  return vars;
}

/** An address in a URL's host: IPv6 in brackets. */
function hostOf(address) {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** Addresses that mean "every interface": answered on loopback. */
const ANY = new Map([
  ["0.0.0.0", "127.0.0.1"],
  ["::", "[::1]"],
  ["[::]", "[::1]"],
  ["*", "127.0.0.1"],
]);

/**
 * What `npm run dev` does with its arguments: the `--var` defaults it adds for wrangler (WEB_DOMAIN
 * to the address it listens on, ACCOUNT_DOMAIN to WEB_DOMAIN, each unless given), and the URL at which
 * the new server answers, for the first-start seeding.
 */
export function devPlan(args, devVars = "") {
  const port = flag(args, "--port") ?? "8787";
  const ip = flag(args, "--ip");
  const protocol = flag(args, "--local-protocol") === "https" ? "https" : "http";
  const vars = givenVars(args, devVars);
  // Where the server answers: a browser on this machine can use the address wrangler was given,
  // unless that is "every interface".
  const listening = !ip || ip === "localhost" ? "localhost" : (ANY.get(ip) ?? hostOf(ip));
  const webHost = ANY.has(ip ?? "") ? "localhost" : listening;
  const webDomain = vars.get("WEB_DOMAIN") || `${webHost}:${port}`;
  const defaults = [];
  if (!vars.get("WEB_DOMAIN")) defaults.push("--var", `WEB_DOMAIN:${webDomain}`);
  if (!vars.get("ACCOUNT_DOMAIN")) defaults.push("--var", `ACCOUNT_DOMAIN:${webDomain}`);
  return {
    port,
    persist: flag(args, "--persist-to"),
    defaults,
    webDomain,
    /** Asked once the server is up: the first request creates the owner and its keys. */
    seedUrl: `${protocol}://${listening}:${port}/nodeinfo/2.1`,
    localUrl: `${protocol}://${listening}:${port}/`,
  };
}
