import { z } from "zod";
import { fetchBounded, RemoteFetchError, type FetchOptions } from "./remote-fetch";

const Jrd = z.looseObject({
  subject: z.string().optional(),
  links: z
    .array(z.looseObject({ rel: z.string(), type: z.string().optional(), href: z.string().optional() }))
    .default([]),
});

const SELF_TYPES = /^application\/(activity\+json|ld\+json)/i;

/**
 * Resolves `user@domain` (also `@user@domain`, `acct:user@domain`) to its actor URI by WebFinger
 * (RFC 7033): the `self` link with an ActivityStreams type.
 */
export async function resolveHandle(handle: string, opts: FetchOptions): Promise<string> {
  const acct = handle
    .trim()
    .replace(/^acct:/i, "")
    .replace(/^@/, "");
  const match = /^([^@\s/]+)@([^@\s/?#]+)$/.exec(acct);
  if (!match) throw new RemoteFetchError("invalid_url", handle);
  const domain = (match[2] as string).toLowerCase();
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(domain);
  const scheme = loopback && opts.allowLoopback ? "http" : "https";
  const url = `${scheme}://${domain}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${match[1]}@${domain}`)}`;
  const res = await fetchBounded(url, {
    ...opts,
    accept: "application/jrd+json, application/json",
    maxBytes: 100_000,
  });
  if (res.status === 404 || res.status === 410) throw new RemoteFetchError("not_found", url, res.status);
  if (res.status < 200 || res.status >= 300) throw new RemoteFetchError("http_error", url, res.status);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(res.body));
  } catch {
    throw new RemoteFetchError("bad_json", url);
  }
  const jrd = Jrd.safeParse(json);
  if (!jrd.success) throw new RemoteFetchError("bad_json", url);
  const self = jrd.data.links.find((l) => l.rel === "self" && l.href && SELF_TYPES.test(l.type ?? ""));
  if (!self?.href) throw new RemoteFetchError("not_found", url);
  return self.href;
}
