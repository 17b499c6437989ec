import { describe, expect, it } from "vitest";
import { ACTOR, AS_JSON, request } from "../../helpers/app";

describe("WebFinger", () => {
  it.each([
    "acct:alice@example.com",
    "acct:alice@social.example.com",
    "alice@example.com",
    "acct:ALICE@Example.com",
    ACTOR,
    "https://social.example.com/@alice",
  ])("resolves %s to the canonical handle with a self link to the actor", async (resource) => {
    const res = await request(`/.well-known/webfinger?resource=${encodeURIComponent(resource)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/jrd\+json/);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const jrd = (await res.json()) as {
      subject: string;
      links: { rel: string; type?: string; href: string }[];
    };
    expect(jrd.subject).toBe("acct:alice@example.com");
    expect(jrd.links).toContainEqual({ rel: "self", type: "application/activity+json", href: ACTOR });
  });

  it("answers the same on the apex domain as on the web domain", async () => {
    const res = await request(
      new Request("https://example.com/.well-known/webfinger?resource=acct:alice@example.com"),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { links: { href: string }[] }).links.map((l) => l.href)).toContain(ACTOR);
  });

  it("resolves the instance actor for acct:WEB_DOMAIN@WEB_DOMAIN", async () => {
    const res = await request("/.well-known/webfinger?resource=acct:social.example.com@social.example.com");
    expect(res.status).toBe(200);
    const jrd = (await res.json()) as { links: { rel: string; href: string }[] };
    expect(jrd.links.find((l) => l.rel === "self")?.href).toBe("https://social.example.com/actor");
  });

  it.each(["acct:bob@example.com", "acct:alice@other.example", "https://social.example.com/users/bob"])(
    "answers 404 for a resource that is not ours (%s)",
    async (resource) => {
      const res = await request(`/.well-known/webfinger?resource=${encodeURIComponent(resource)}`);
      expect(res.status).toBe(404);
    },
  );

  it.each(["", "acct:", "alice", "acct:a@b@c", "http://[bad"])(
    "answers 400 for a malformed resource %j",
    async (resource) => {
      const res = await request(`/.well-known/webfinger?resource=${encodeURIComponent(resource)}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toHaveProperty("error");
    },
  );

  it("answers 400 without a resource parameter", async () => {
    expect((await request("/.well-known/webfinger")).status).toBe(400);
  });
});

describe("host-meta and NodeInfo", () => {
  it("serves host-meta as XRD with a WebFinger template on the web domain", async () => {
    const res = await request("https://example.com/.well-known/host-meta");
    expect(res.headers.get("content-type")).toMatch(/^application\/xrd\+xml/);
    expect(await res.text()).toContain(
      'template="https://social.example.com/.well-known/webfinger?resource={uri}"',
    );
  });

  it("serves host-meta as JSON", async () => {
    const res = await request("/.well-known/host-meta.json");
    expect(await res.json()).toEqual({
      links: [{ rel: "lrdd", template: "https://social.example.com/.well-known/webfinger?resource={uri}" }],
    });
  });

  it("links NodeInfo 2.0 and 2.1 from discovery, and both describe a closed single-user server", async () => {
    const discovery = (await (await request("/.well-known/nodeinfo")).json()) as {
      links: { href: string }[];
    };
    expect(discovery.links.map((l) => l.href)).toEqual([
      "https://social.example.com/nodeinfo/2.0",
      "https://social.example.com/nodeinfo/2.1",
    ]);
    for (const version of ["2.0", "2.1"]) {
      const res = await request(`/nodeinfo/${version}`);
      expect(res.headers.get("content-type")).toContain(`schema/${version}#`);
      const info = (await res.json()) as Record<string, unknown>;
      expect(info).toMatchObject({
        version,
        software: { name: "perch" },
        protocols: ["activitypub"],
        openRegistrations: false,
        usage: { users: { total: 1 }, localPosts: 0 },
      });
    }
  });

  it("answers 404 for an unknown NodeInfo version", async () => {
    expect((await request("/nodeinfo/3.0", { headers: AS_JSON })).status).toBe(404);
  });
});
