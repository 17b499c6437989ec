/** Small Mastodon-shaped archives built in the test with Perch's own ZIP writer, and a job to import one. */
import { env } from "cloudflare:test";
import { archiveImports } from "../../../worker/db/schema";
import type { ByteSink } from "../../../worker/lib/archive/sink";
import { ZipWriter } from "../../../worker/lib/archive/zip/writer";
import { newId } from "../../../worker/lib/ids";
import { testCtx } from "../../helpers/app";

export const OLD = "https://old.example/users/alice";
export const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";

/** A 1×1 PNG: real bytes the media sniffer accepts. */
export const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

type Audience = "public" | "unlisted" | "private" | "direct";
const addressed: Record<Audience, { to: string[]; cc: string[] }> = {
  public: { to: [PUBLIC], cc: [`${OLD}/followers`] },
  unlisted: { to: [`${OLD}/followers`], cc: [PUBLIC] },
  private: { to: [`${OLD}/followers`], cc: [] },
  direct: { to: ["https://elsewhere.example/users/bob"], cc: [] },
};

/** A Create of a Note as Mastodon's export writes it. */
export function create(n: number, object: Record<string, unknown> = {}, audience: Audience = "public") {
  const id = `${OLD}/statuses/${n}`;
  const published = (object.published as string) ?? `2023-0${1 + (n % 9)}-1${n % 10}T10:00:00Z`;
  return {
    id: `${id}/activity`,
    type: "Create",
    actor: OLD,
    published,
    ...addressed[audience],
    object: {
      id,
      type: "Note",
      url: `https://old.example/@alice/${n}`,
      attributedTo: OLD,
      published,
      content: `<p>Post ${n}</p>`,
      contentMap: { en: `<p>Post ${n}</p>` },
      sensitive: false,
      ...addressed[audience],
      tag: [],
      attachment: [],
      ...object,
    },
  };
}

export function outbox(items: unknown[]): string {
  return JSON.stringify({
    "@context": "https://www.w3.org/ns/activitystreams",
    id: "outbox.json",
    type: "OrderedCollection",
    totalItems: items.length,
    orderedItems: items,
  });
}

/** A ZIP of these members, as bytes. */
export async function zipOf(members: Record<string, string | Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const sink: ByteSink = { write: async (c) => void parts.push(c.slice()), close: async () => {} };
  const zip = new ZipWriter(sink);
  for (const [name, data] of Object.entries(members)) {
    // Members named *.bin are stored, not deflated: padding that keeps its size.
    const method = name.endsWith(".bin") ? ("store" as const) : ("deflate" as const);
    await zip.add(name, typeof data === "string" ? new TextEncoder().encode(data) : data, { method });
  }
  await zip.finish();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** Stores the archive in R2 and a job ready to run, as a completed upload leaves them. */
export async function queuedImport(bytes: Uint8Array): Promise<string> {
  const id = newId();
  const key = `imports/${id}.zip`;
  await env.MEDIA.put(key, bytes);
  await testCtx().db.insert(archiveImports).values({
    id,
    state: "queued",
    filename: "archive.zip",
    size: bytes.length,
    key,
    uploadId: "done",
    partSize: 0,
  });
  return id;
}

/** An Announce (a boost) of `object` as Mastodon's export writes it, public unless told. */
export function boostOf(n: number, object: string, published = `2022-05-0${1 + (n % 9)}T08:00:00Z`) {
  return {
    id: `${OLD}/statuses/${n}/activity`,
    type: "Announce",
    actor: OLD,
    published,
    to: [PUBLIC],
    cc: [`${OLD}/followers`],
    object,
  };
}

/** likes.json or bookmarks.json: an OrderedCollection of URIs. */
export function uriCollection(id: string, items: unknown[]): string {
  return JSON.stringify({
    "@context": "https://www.w3.org/ns/activitystreams",
    id,
    type: "OrderedCollection",
    orderedItems: items,
  });
}

/** actor.json as Mastodon's export writes it, its images beside it in the archive. */
export function actorJson(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: OLD,
    type: "Person",
    preferredUsername: "alice",
    name: "Alice of Old",
    summary: '<p>Bird watcher <script>alert(1)</script><a href="https://birds.example">birds</a></p>',
    attachment: [
      {
        type: "PropertyValue",
        name: "Site",
        value: '<a href="https://alice.example" rel="me">alice.example</a>',
      },
      { type: "PropertyValue", name: "Pronouns", value: "she/her" },
    ],
    icon: { type: "Image", mediaType: "image/png", url: "avatar.png" },
    image: { type: "Image", mediaType: "image/png", url: "header.png" },
    likes: "likes.json",
    bookmarks: "bookmarks.json",
    ...extra,
  });
}
