import { vi } from "vitest";

/**
 * Outbound fetches in tests: every request the Worker makes goes to these routes (keyed by full URL),
 * and is recorded. Unknown URLs answer 404. Remote documents stored as fixtures under
 * test/fixtures/remote/<host>/<path>.json are served at their URL by `mockRemote`.
 */
type Route = Response | ((request: Request) => Response | Promise<Response>);

export interface FetchMock {
  calls: Request[];
}

let spy: ReturnType<typeof vi.spyOn> | undefined;

export function mockFetch(routes: Record<string, Route>): FetchMock {
  restoreFetch();
  const mock: FetchMock = { calls: [] };
  spy = vi
    .spyOn(globalThis, "fetch")
    .mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      mock.calls.push(request.clone());
      const route = routes[request.url];
      if (!route) return new Response("not found", { status: 404 });
      return typeof route === "function" ? route(request) : route.clone();
    });
  return mock;
}

export function restoreFetch(): void {
  spy?.mockRestore();
  spy = undefined;
}

export function activityJson(doc: unknown, status = 200): Response {
  return new Response(JSON.stringify(doc), {
    status,
    headers: { "content-type": "application/activity+json; charset=utf-8" },
  });
}

const fixtures = import.meta.glob("../fixtures/remote/**/*.json", { eager: true, import: "default" });

/** The fixture stored for a URL (https://host/a/b → test/fixtures/remote/host/a/b.json). */
export function remoteFixture(url: string): Record<string, unknown> {
  const u = new URL(url);
  const key = `../fixtures/remote/${u.host}${u.pathname}.json`;
  const doc = fixtures[key];
  if (!doc) throw new Error(`no fixture for ${url} (${key})`);
  return doc as Record<string, unknown>;
}

/** Serves every stored fixture at its URL, plus any extra routes. */
export function mockRemote(extra: Record<string, Route> = {}): FetchMock {
  const routes: Record<string, Route> = {};
  for (const [key, doc] of Object.entries(fixtures)) {
    const url = `https://${key.replace("../fixtures/remote/", "").replace(/\.json$/, "")}`;
    routes[url] = () => activityJson(doc);
  }
  return mockFetch({ ...routes, ...extra });
}
