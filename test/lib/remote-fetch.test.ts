import { afterEach, describe, expect, it } from "vitest";
import { fetchActivityPub, RemoteFetchError, type FetchOptions } from "../../worker/lib/remote-fetch";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";

const URL_ = "https://remote.example/users/bob";
const doc = { id: URL_, type: "Person" };
const opts: FetchOptions = { allowLoopback: false, userAgent: "Perch/test" };

afterEach(() => restoreFetch());

async function reason(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof RemoteFetchError) return e.reason;
    throw e;
  }
  return "ok";
}

const redirect = (to: string, status = 302) => new Response(null, { status, headers: { location: to } });

describe("fetching an ActivityPub document", () => {
  it("returns a document whose id is the URL asked for, sending the AS Accept header and User-Agent", async () => {
    const mock = mockFetch({ [URL_]: activityJson(doc) });
    expect(await fetchActivityPub(URL_, opts)).toEqual({ url: URL_, document: doc });
    expect(mock.calls[0]!.headers.get("accept")).toContain("application/activity+json");
    expect(mock.calls[0]!.headers.get("user-agent")).toBe("Perch/test");
  });

  it("accepts application/ld+json with the ActivityStreams profile", async () => {
    mockFetch({
      [URL_]: new Response(JSON.stringify(doc), {
        headers: { "content-type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"' },
      }),
    });
    expect((await fetchActivityPub(URL_, opts)).document).toEqual(doc);
  });

  it("signs the request when given a signer", async () => {
    const mock = mockFetch({ [URL_]: activityJson(doc) });
    await fetchActivityPub(URL_, {
      ...opts,
      sign: async (r) => new Request(r, { headers: { ...Object.fromEntries(r.headers), signature: "sig" } }),
    });
    expect(mock.calls[0]!.headers.get("signature")).toBe("sig");
  });

  it("follows a redirect to a safe URL; the document must then carry the final URL as id", async () => {
    const moved = "https://remote.example/@bob";
    mockFetch({ [URL_]: redirect(moved, 301), [moved]: activityJson({ ...doc, id: moved }) });
    expect(await fetchActivityPub(URL_, opts)).toEqual({ url: moved, document: { ...doc, id: moved } });
  });

  it.each([
    ["a URL that is not safe", "https://10.0.0.1/users/bob", {}, "private_address"],
    [
      "a redirect to a private address",
      URL_,
      { [URL_]: () => redirect("https://192.168.0.1/x") },
      "private_address",
    ],
    [
      "more than three redirects",
      URL_,
      {
        [URL_]: () => redirect("https://remote.example/1"),
        "https://remote.example/1": () => redirect("https://remote.example/2"),
        "https://remote.example/2": () => redirect("https://remote.example/3"),
        "https://remote.example/3": () => redirect("https://remote.example/4"),
        "https://remote.example/4": () => activityJson(doc),
      },
      "too_many_redirects",
    ],
    ["404", URL_, { [URL_]: () => new Response("", { status: 404 }) }, "not_found"],
    ["410", URL_, { [URL_]: () => new Response("", { status: 410 }) }, "gone"],
    ["500", URL_, { [URL_]: () => new Response("", { status: 500 }) }, "http_error"],
    [
      "an HTML page",
      URL_,
      { [URL_]: () => new Response("<html>", { headers: { "content-type": "text/html" } }) },
      "bad_content_type",
    ],
    ["plain JSON", URL_, { [URL_]: () => Response.json(doc) }, "bad_content_type"],
    [
      "broken JSON",
      URL_,
      { [URL_]: () => new Response("{", { headers: { "content-type": "application/activity+json" } }) },
      "bad_json",
    ],
    ["a JSON array", URL_, { [URL_]: () => activityJson([doc]) }, "bad_json"],
    [
      "a document with another id",
      URL_,
      { [URL_]: () => activityJson({ ...doc, id: "https://evil.example/users/bob" }) },
      "id_mismatch",
    ],
    ["a document without an id", URL_, { [URL_]: () => activityJson({ type: "Person" }) }, "id_mismatch"],
    [
      "a body over 1 MB by Content-Length",
      URL_,
      {
        [URL_]: () =>
          new Response("x", {
            headers: { "content-type": "application/activity+json", "content-length": "2000000" },
          }),
      },
      "too_large",
    ],
    ["a network error", URL_, { [URL_]: () => Promise.reject(new TypeError("connection reset")) }, "network"],
  ])("refuses %s", async (_name, url, routes, expected) => {
    mockFetch(routes as Parameters<typeof mockFetch>[0]);
    expect(await reason(fetchActivityPub(url as string, opts))).toBe(expected);
  });

  it("refuses a streamed body over the cap even without Content-Length", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    mockFetch({
      [URL_]: () =>
        new Response(
          new ReadableStream({
            pull(c) {
              if (sent > 2_000_000) return c.close();
              sent += chunk.length;
              c.enqueue(chunk);
            },
          }),
          { headers: { "content-type": "application/activity+json" } },
        ),
    });
    expect(await reason(fetchActivityPub(URL_, opts))).toBe("too_large");
    expect(sent).toBeLessThan(1_300_000);
  });

  it("times out a server that does not answer", async () => {
    mockFetch({
      [URL_]: (req) =>
        new Promise<Response>((_resolve, reject) => {
          req.signal.addEventListener("abort", () => reject(new DOMException("timed out", "TimeoutError")));
        }),
    });
    expect(await reason(fetchActivityPub(URL_, { ...opts, timeoutMs: 50 }))).toBe("timeout");
  });

  it("in loopback mode fetches over http from a loopback host", async () => {
    const local = "http://127.0.0.1:8911/users/bob";
    mockFetch({ [local]: activityJson({ ...doc, id: local }) });
    expect((await fetchActivityPub(local, { ...opts, allowLoopback: true })).url).toBe(local);
    expect(await reason(fetchActivityPub(local, opts))).toBe("private_address");
  });
});
