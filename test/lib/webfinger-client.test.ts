import { afterEach, describe, expect, it } from "vitest";
import { RemoteFetchError } from "../../worker/lib/remote-fetch";
import { resolveHandle } from "../../worker/lib/webfinger-client";
import { mockFetch, restoreFetch } from "../helpers/fetch-mock";

const opts = { allowLoopback: false, userAgent: "Perch/test" };
const WF = "https://remote.example/.well-known/webfinger?resource=acct%3Abob%40remote.example";
const jrd = (links: object[]) =>
  new Response(JSON.stringify({ subject: "acct:bob@remote.example", links }), {
    headers: { "content-type": "application/jrd+json" },
  });

afterEach(() => restoreFetch());

describe("resolving a handle by WebFinger", () => {
  it.each(["bob@remote.example", "@bob@remote.example", "acct:bob@remote.example", " @bob@Remote.Example "])(
    "resolves %j to the actor's self link",
    async (handle) => {
      mockFetch({
        [WF]: jrd([
          {
            rel: "http://webfinger.net/rel/profile-page",
            type: "text/html",
            href: "https://remote.example/@bob",
          },
          { rel: "self", type: "application/activity+json", href: "https://remote.example/users/bob" },
        ]),
      });
      expect(await resolveHandle(handle, opts)).toBe("https://remote.example/users/bob");
    },
  );

  it("accepts a self link typed as ld+json with the AS profile", async () => {
    mockFetch({
      [WF]: jrd([
        {
          rel: "self",
          type: 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
          href: "https://remote.example/u/1",
        },
      ]),
    });
    expect(await resolveHandle("bob@remote.example", opts)).toBe("https://remote.example/u/1");
  });

  it.each([
    [
      "no self link",
      () => jrd([{ rel: "http://webfinger.net/rel/profile-page", href: "https://remote.example/@bob" }]),
      "not_found",
    ],
    ["an unknown account", () => new Response("", { status: 404 }), "not_found"],
    ["a server error", () => new Response("", { status: 500 }), "http_error"],
    ["a body that is not JSON", () => new Response("<html>"), "bad_json"],
  ])("fails for %s", async (_name, route, reason) => {
    mockFetch({ [WF]: route });
    await expect(resolveHandle("bob@remote.example", opts)).rejects.toMatchObject({ reason });
  });

  it("refuses something that is not a handle without any request", async () => {
    const mock = mockFetch({});
    await expect(resolveHandle("bob", opts)).rejects.toBeInstanceOf(RemoteFetchError);
    expect(mock.calls).toHaveLength(0);
  });

  it("uses http for a loopback domain in loopback mode", async () => {
    const mock = mockFetch({
      "http://127.0.0.1:8911/.well-known/webfinger?resource=acct%3Abob%40127.0.0.1%3A8911": jrd([
        { rel: "self", type: "application/activity+json", href: "http://127.0.0.1:8911/users/bob" },
      ]),
    });
    expect(await resolveHandle("bob@127.0.0.1:8911", { ...opts, allowLoopback: true })).toBe(
      "http://127.0.0.1:8911/users/bob",
    );
    expect(mock.calls).toHaveLength(1);
  });
});
