import { describe, expect, it } from "vitest";
import { devPlan, givenVars } from "../../scripts/dev-args.mjs";

/** The `--var KEY:VALUE` pairs the plan adds for wrangler, as a map. */
const added = (defaults: string[]) =>
  Object.fromEntries(
    defaults
      .filter((_, i) => i % 2 === 1)
      .map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]),
  );

describe("npm run dev's arguments", () => {
  it("defaults both domains to localhost:PORT and seeds there when nothing is given", () => {
    const plan = devPlan(["--port", "8911"]);
    expect(added(plan.defaults)).toEqual({ WEB_DOMAIN: "localhost:8911", ACCOUNT_DOMAIN: "localhost:8911" });
    expect(plan.seedUrl).toBe("http://localhost:8911/nodeinfo/2.1");
    expect(devPlan([]).seedUrl).toBe("http://localhost:8787/nodeinfo/2.1");
  });

  it("defaults ACCOUNT_DOMAIN to a WEB_DOMAIN given with --var, as the README says", () => {
    const plan = devPlan(["--var", "WEB_DOMAIN:social.example.com", "--port=8911"]);
    expect(added(plan.defaults)).toEqual({ ACCOUNT_DOMAIN: "social.example.com" });
    expect(plan.webDomain).toBe("social.example.com");
    // Still seeded where wrangler listens, not at the public name.
    expect(plan.seedUrl).toBe("http://localhost:8911/nodeinfo/2.1");
    expect(added(devPlan(["--var=WEB_DOMAIN:a.example"]).defaults)).toEqual({ ACCOUNT_DOMAIN: "a.example" });
  });

  it("takes WEB_DOMAIN from .dev.vars too, and leaves alone a domain that was given", () => {
    const plan = devPlan([], 'USERNAME=me\nWEB_DOMAIN = "dev.example.com"\n');
    expect(added(plan.defaults)).toEqual({ ACCOUNT_DOMAIN: "dev.example.com" });
    const both = devPlan([
      "--var",
      "WEB_DOMAIN:w.example",
      "ACCOUNT_DOMAIN:example.com",
      "--ip",
      "127.0.0.1",
    ]);
    expect(both.defaults).toEqual([]);
  });

  it("seeds at the address given with --ip, which is also the default domain", () => {
    const plan = devPlan(["--ip", "127.0.0.1", "--port", "8911"]);
    expect(plan.seedUrl).toBe("http://127.0.0.1:8911/nodeinfo/2.1");
    expect(added(plan.defaults)).toEqual({ WEB_DOMAIN: "127.0.0.1:8911", ACCOUNT_DOMAIN: "127.0.0.1:8911" });
    expect(devPlan(["--ip=::1"]).seedUrl).toBe("http://[::1]:8787/nodeinfo/2.1");
    // Every interface: seeded on loopback, named localhost.
    const any = devPlan(["--ip", "0.0.0.0", "--port", "9000"]);
    expect(any.seedUrl).toBe("http://127.0.0.1:9000/nodeinfo/2.1");
    expect(added(any.defaults).WEB_DOMAIN).toBe("localhost:9000");
  });

  it("seeds over https with --local-protocol https", () => {
    expect(devPlan(["--local-protocol", "https"]).seedUrl).toBe("https://localhost:8787/nodeinfo/2.1");
  });

  it("reads several pairs after one --var, up to the next flag", () => {
    const vars = givenVars(["--var", "A:1", "B:x:y", "--port", "1", "--var=C:3"], "D=4");
    expect(Object.fromEntries(vars)).toEqual({ A: "1", B: "x:y", C: "3", D: "4" });
  });
});
