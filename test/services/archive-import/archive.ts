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

/** A ZIP of these members, as bytes; those named in `stored` (and any *.bin) are stored, not deflated. */
export async function zipOf(
  members: Record<string, string | Uint8Array>,
  stored: string[] = [],
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const sink: ByteSink = { write: async (c) => void parts.push(c.slice()), close: async () => {} };
  const zip = new ZipWriter(sink);
  for (const [name, data] of Object.entries(members)) {
    // Members named *.bin are stored, not deflated: padding that keeps its size.
    const method = name.endsWith(".bin") || stored.includes(name) ? ("store" as const) : ("deflate" as const);
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

export type TarMember =
  | string
  | Uint8Array
  | { type: "symlink" | "directory"; target?: string }
  | { data: string | Uint8Array; mtime?: number };

/**
 * A ustar tar.gz of these members (written here, header by header, as tar and Python's tarfile do;
 * gzipped by the platform's CompressionStream). Names longer than 100 bytes use the prefix field.
 */
export async function tarGzOf(members: Record<string, TarMember>): Promise<Uint8Array> {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [name, member] of Object.entries(members)) {
    const m = typeof member === "string" || member instanceof Uint8Array ? { data: member } : member;
    const data = "data" in m ? (typeof m.data === "string" ? enc.encode(m.data) : m.data) : new Uint8Array(0);
    const type = "type" in m ? (m.type === "symlink" ? "2" : "5") : "0";
    const h = new Uint8Array(512);
    const put = (at: number, s: string) => h.set(enc.encode(s), at);
    const bytes = enc.encode(name);
    if (bytes.length <= 100) h.set(bytes, 0);
    else {
      const cut = name.lastIndexOf("/", 155);
      h.set(enc.encode(name.slice(cut + 1)), 0);
      h.set(enc.encode(name.slice(0, cut)), 345);
    }
    put(100, "0000644\0");
    put(108, "0001750\0");
    put(116, "0001750\0");
    put(124, data.length.toString(8).padStart(11, "0") + "\0");
    put(
      136,
      ("mtime" in m && m.mtime !== undefined ? m.mtime : 1700000000).toString(8).padStart(11, "0") + "\0",
    );
    put(148, "        ");
    put(156, type);
    if ("target" in m && m.target) put(157, m.target);
    put(257, "ustar\0");
    put(263, "00");
    let sum = 0;
    for (const b of h) sum += b;
    put(148, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const tar = new Blob(blocks).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(tar).arrayBuffer());
}

/** Stores a .tar.gz and a job ready to convert and import it, as a completed upload leaves them. */
export async function queuedTarGzImport(bytes: Uint8Array): Promise<string> {
  const id = newId();
  const key = `imports/${id}.tar.gz`;
  await env.MEDIA.put(key, bytes);
  await testCtx().db.insert(archiveImports).values({
    id,
    state: "queued",
    filename: "archive.tar.gz",
    size: bytes.length,
    key,
    uploadId: "done",
    partSize: 0,
    phase: "convert",
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
