import { Hono } from "hono";
import { count, eq, and, isNull } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Config } from "../../config";
import { statuses } from "../../db/schema";
import { badRequest, notFound } from "../../lib/errors";
import { uris } from "../uris";

/**
 * WebFinger (RFC 7033), host-meta (RFC 6415) and NodeInfo discovery. These answer on both
 * ACCOUNT_DOMAIN and WEB_DOMAIN: the apex only needs a Worker route for /.well-known/*.
 */
export const wellKnown = new Hono<AppEnv>();

const VERSION = "0.1.0";

wellKnown.get("/.well-known/webfinger", (c) => {
  const resource = c.req.query("resource");
  if (!resource) throw badRequest("Missing resource parameter", "missing_resource");
  const config = c.var.ctx.config;
  const target = matchResource(config, resource);
  const u = uris(config);
  c.header("access-control-allow-origin", "*");
  c.header("content-type", "application/jrd+json; charset=utf-8");
  if (target === "instance") {
    return c.body(
      JSON.stringify({
        subject: `acct:${config.webDomain}@${config.webDomain}`,
        aliases: [u.instanceActor],
        links: [{ rel: "self", type: "application/activity+json", href: u.instanceActor }],
      }),
    );
  }
  return c.body(
    JSON.stringify({
      subject: `acct:${u.handle}`,
      aliases: [u.actor, u.profileUrl],
      links: [
        { rel: "http://webfinger.net/rel/profile-page", type: "text/html", href: u.profileUrl },
        { rel: "self", type: "application/activity+json", href: u.actor },
      ],
    }),
  );
});

/** Which local actor a WebFinger resource names; 400 if it is not a resource at all, 404 if not ours. */
function matchResource(config: Config, resource: string): "owner" | "instance" {
  const u = uris(config);
  const domains = [config.accountDomain, config.webDomain];
  if (/^https?:\/\//i.test(resource)) {
    let url: URL;
    try {
      url = new URL(resource);
    } catch {
      throw badRequest("Malformed resource", "malformed_resource");
    }
    const href = url.href.replace(/\/$/, "");
    if (href === u.actor || href === u.profileUrl) return "owner";
    if (href === u.instanceActor) return "instance";
    throw notFound();
  }
  const acct = resource.replace(/^acct:/i, "").replace(/^@/, "");
  const match = /^([^@\s/]+)@([^@\s/]+)$/.exec(acct);
  if (!match) throw badRequest("Malformed resource", "malformed_resource");
  const user = (match[1] as string).toLowerCase();
  const domain = (match[2] as string).toLowerCase();
  if (!domains.includes(domain)) throw notFound();
  if (user === config.username.toLowerCase()) return "owner";
  if (user === config.webDomain && domain === config.webDomain) return "instance";
  throw notFound();
}

wellKnown.get("/.well-known/host-meta", (c) => {
  const template = `${uris(c.var.ctx.config).base}/.well-known/webfinger?resource={uri}`;
  c.header("access-control-allow-origin", "*");
  c.header("content-type", "application/xrd+xml; charset=utf-8");
  return c.body(
    `<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n` +
      `  <Link rel="lrdd" template="${template}"/>\n</XRD>\n`,
  );
});

wellKnown.get("/.well-known/host-meta.json", (c) => {
  const template = `${uris(c.var.ctx.config).base}/.well-known/webfinger?resource={uri}`;
  c.header("access-control-allow-origin", "*");
  return c.json({ links: [{ rel: "lrdd", template }] });
});

wellKnown.get("/.well-known/nodeinfo", (c) => {
  const base = uris(c.var.ctx.config).base;
  c.header("access-control-allow-origin", "*");
  return c.json({
    links: [
      { rel: "http://nodeinfo.diaspora.software/ns/schema/2.0", href: `${base}/nodeinfo/2.0` },
      { rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", href: `${base}/nodeinfo/2.1` },
    ],
  });
});

wellKnown.get("/nodeinfo/:version{2\\.[01]}", async (c) => {
  const version = c.req.param("version");
  const ctx = c.var.ctx;
  const { owner } = await ctx.instance();
  const [posts] = await ctx.db
    .select({ n: count() })
    .from(statuses)
    .where(and(eq(statuses.accountId, owner.id), isNull(statuses.deletedAt), isNull(statuses.reblogOfId)));
  const software = { name: "perch", version: VERSION };
  c.header("access-control-allow-origin", "*");
  c.header(
    "content-type",
    `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/${version}#"`,
  );
  return c.body(
    JSON.stringify({
      version,
      software,
      protocols: ["activitypub"],
      services: { inbound: [], outbound: [] },
      openRegistrations: false,
      usage: { users: { total: 1, activeMonth: 1, activeHalfyear: 1 }, localPosts: posts?.n ?? 0 },
      metadata: { nodeName: ctx.config.webDomain, singleUser: true },
    }),
  );
});
