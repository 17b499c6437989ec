// A synthetic Mastodon archive for bench:import, deterministic from a seed and written as a real ZIP
// straight to disk: outbox.json is deflated through zlib as it is generated, media files are stored
// (as Mastodon stores them) from a seeded generator in 64 KB blocks, and each local header's CRC and
// sizes are written back in place once its member is done. Nothing the size of the archive is ever
// held in memory (the central directory, a few hundred entries, is the largest thing kept).
//
// What is in it, in Mastodon's export shape (https://docs.joinmastodon.org/user/moving/#export, and
// test/fixtures/archive/make_fixtures.py): outbox.json with `posts` Create items (Notes of every
// visibility, some with a content warning, hashtags and mentions, replies to the archive's own earlier
// posts, a few polls as Question) and boosts (Announce of a remote post) between them; `media` files
// (JPEG and PNG with valid headers so the type sniffer accepts them, then seeded bytes), each attached
// to one post, referred to half with `/system/` in front of the path and half without; actor.json,
// likes.json and bookmarks.json.
//
//   node bench/archive-gen.mjs [out.zip]   (BENCH_POSTS, BENCH_MEDIA, BENCH_MB, BENCH_SEED as in import.mjs)
import { closeSync, openSync, writeSync } from "node:fs";
import { crc32, createDeflateRaw } from "node:zlib";

const OLD = "https://old.example/users/alice";
const AS = "https://www.w3.org/ns/activitystreams";
const PUBLIC = `${AS}#Public`;
const BLOCK = 64 * 1024;

/** xorshift128: a seeded stream of 32-bit words, fast enough to fill 200 MB in well under a second. */
export function seeded(seed) {
  let x = seed >>> 0 || 1;
  let y = 362436069;
  let z = 521288629;
  let w = 88675123;
  const next = () => {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w;
  };
  for (let i = 0; i < 16; i++) next();
  return { next, float: () => next() / 2 ** 32, int: (n) => Math.floor((next() / 2 ** 32) * n) };
}

/** DOS time and date fields for a fixed moment (the archive's content is what varies, not its clock). */
const DOS_TIME = (12 << 11) | (30 << 5) | 5;
const DOS_DATE = ((2024 - 1980) << 9) | (5 << 5) | 17;

class ZipFile {
  constructor(path) {
    this.fd = openSync(path, "w");
    this.at = 0;
    this.entries = [];
  }
  write(bytes, position) {
    if (position === undefined) {
      writeSync(this.fd, bytes, 0, bytes.length, this.at);
      this.at += bytes.length;
    } else writeSync(this.fd, bytes, 0, bytes.length, position);
  }
  /** Starts a member: its local header with CRC and sizes left at zero, filled in by `end`. */
  begin(name, method) {
    const nameBytes = Buffer.from(name, "utf8");
    const h = Buffer.alloc(30 + nameBytes.length);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4); // version needed
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(method, 8);
    h.writeUInt16LE(DOS_TIME, 10);
    h.writeUInt16LE(DOS_DATE, 12);
    h.writeUInt16LE(nameBytes.length, 26);
    nameBytes.copy(h, 30);
    const entry = { nameBytes, method, offset: this.at, crc: 0, compressed: 0, size: 0 };
    this.write(h);
    return entry;
  }
  end(entry) {
    const patch = Buffer.alloc(12);
    patch.writeUInt32LE(entry.crc >>> 0, 0);
    patch.writeUInt32LE(entry.compressed, 4);
    patch.writeUInt32LE(entry.size, 8);
    this.write(patch, entry.offset + 14);
    this.entries.push(entry);
  }
  /** A stored member from a generator of blocks. */
  stored(name, blocks) {
    const e = this.begin(name, 0);
    for (const b of blocks) {
      e.crc = crc32(b, e.crc);
      e.size += b.length;
      this.write(b);
    }
    e.compressed = e.size;
    this.end(e);
    return e;
  }
  /** A deflated member from an async generator of strings, through zlib with its backpressure. */
  async deflated(name, chunks) {
    const e = this.begin(name, 8);
    const deflate = createDeflateRaw({ level: 6 });
    deflate.on("data", (c) => {
      e.compressed += c.length;
      this.write(c);
    });
    const finished = new Promise((resolve, reject) => {
      deflate.on("end", resolve);
      deflate.on("error", reject);
    });
    for await (const s of chunks) {
      const b = Buffer.from(s, "utf8");
      e.crc = crc32(b, e.crc);
      e.size += b.length;
      if (!deflate.write(b)) await new Promise((r) => deflate.once("drain", r));
    }
    deflate.end();
    await finished;
    this.end(e);
    return e.size;
  }
  finish() {
    const start = this.at;
    for (const e of this.entries) {
      const c = Buffer.alloc(46 + e.nameBytes.length);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt16LE(e.method, 10);
      c.writeUInt16LE(DOS_TIME, 12);
      c.writeUInt16LE(DOS_DATE, 14);
      c.writeUInt32LE(e.crc >>> 0, 16);
      c.writeUInt32LE(e.compressed, 20);
      c.writeUInt32LE(e.size, 24);
      c.writeUInt16LE(e.nameBytes.length, 28);
      c.writeUInt32LE((0o100644 << 16) >>> 0, 38);
      c.writeUInt32LE(e.offset, 42);
      e.nameBytes.copy(c, 46);
      this.write(c);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.at - start, 12);
    end.writeUInt32LE(start, 16);
    this.write(end);
    closeSync(this.fd);
    return this.at;
  }
}

/** The leading bytes of a JPEG (JFIF APP0, then a baseline SOF0 with the pixel size) or a PNG. */
function imageHeader(kind, width, height) {
  if (kind === "jpg") {
    const b = Buffer.alloc(2 + 18 + 19);
    b.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 0);
    b.write("JFIF\0", 6, "latin1");
    b.set([1, 1, 0, 0, 1, 0, 1, 0, 0], 11);
    b.set([0xff, 0xc0, 0x00, 0x11, 0x08], 20);
    b.writeUInt16BE(height, 25);
    b.writeUInt16BE(width, 27);
    b.set([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], 29);
    return b;
  }
  const b = Buffer.alloc(8 + 25);
  b.write("\x89PNG\r\n\x1a\n", 0, "latin1");
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "latin1");
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.set([8, 6, 0, 0, 0], 24);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  return b;
}

function* mediaBlocks(header, size, rand) {
  let left = size - header.length;
  yield header;
  while (left > 0) {
    const n = Math.min(BLOCK, left);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = rand.next();
    yield new Uint8Array(words.buffer, 0, n);
    left -= n;
  }
}

const WORDS =
  "perch river morning coffee bread garden train rain window letter music walk market bicycle lamp harbour cloud kettle orchard paper".split(
    " ",
  );
const TAGS = ["photography", "perch", "gardening", "caturday", "music", "books", "FediTips", "Café"];

const audience = (v) =>
  ({
    public: { to: [PUBLIC], cc: [`${OLD}/followers`] },
    unlisted: { to: [`${OLD}/followers`], cc: [PUBLIC] },
    private: { to: [`${OLD}/followers`], cc: [] },
    direct: { to: ["https://elsewhere.example/users/bob"], cc: [] },
  })[v];

/**
 * Writes the archive to `path`. Returns what a correct import must produce: the old ids of the posts
 * (in order), the media (path, size, type) by post, the number of boosts, polls and replies.
 */
export async function generateArchive(path, { posts = 10_000, media = 500, mb = 200, seed = 1 } = {}) {
  const rand = seeded(seed);
  const zip = new ZipFile(path);

  // Which posts carry media, and how many each (1 to 4), with every file attached exactly once.
  const attachments = new Map();
  const withMedia = [];
  for (let left = media; left > 0;) {
    const n = Math.min(left, 1 + (rand.float() < 0.25 ? rand.int(4) : 0));
    withMedia.push(n);
    left -= n;
  }
  const stride = Math.max(1, Math.floor(posts / Math.max(1, withMedia.length)));
  // Media sizes: uneven (0.25× to 1.75× the mean), summing to about `mb`.
  const mean = (mb * 1024 * 1024) / Math.max(1, media);
  const files = [];
  for (let i = 0; i < media; i++) {
    const kind = rand.float() < 0.7 ? "jpg" : "png";
    const size = Math.max(4096, Math.round(mean * (0.25 + 1.5 * rand.float())));
    const width = 320 + rand.int(3000);
    const height = 240 + rand.int(3000);
    const dir = `media_attachments/files/${110 + (i % 7)}/${String(100 + Math.floor(i / 100)).padStart(3, "0")}/${String(i % 1000).padStart(3, "0")}/original`;
    const name = `${dir}/${(rand.next() * 65536 + rand.next()).toString(16).padStart(16, "0")}.${kind}`;
    files.push({ name, kind, size, width, height, seed: rand.next() });
  }
  let f = 0;
  for (let i = 0; i < withMedia.length && i * stride < posts; i++) {
    attachments.set(i * stride, files.slice(f, f + withMedia[i]));
    f += withMedia[i];
  }
  // Any left over (more posts with media than `posts` allows) go on the last post with media, 4 at most
  // a post, so every file is attached: the last posts take the rest.
  for (let p = posts - 1; f < files.length && p >= 0; p--) {
    const have = attachments.get(p) ?? [];
    const room = 4 - have.length;
    if (room <= 0) continue;
    attachments.set(p, [...have, ...files.slice(f, f + room)]);
    f += room;
  }

  const expected = { oldUris: [], media: [], boosts: 0, polls: 0, replies: 0, cws: 0, items: 0 };
  const visibilities = ["public", "public", "public", "public", "unlisted", "unlisted", "private", "direct"];
  const start = Date.parse("2019-03-01T08:00:00Z");
  const step = Math.floor((Date.parse("2025-06-01T00:00:00Z") - start) / (posts * 1.05));

  // A boost now and then between the posts (about 3 in 100 items), placed first so the count is known.
  const boostRand = seeded(seed + 7919);
  const boostBefore = Array.from({ length: posts }, () => boostRand.float() < 0.03);
  const boosts = boostBefore.filter(Boolean).length;

  async function* outbox() {
    yield JSON.stringify({
      "@context": AS,
      id: "outbox.json",
      type: "OrderedCollection",
      totalItems: posts + boosts,
    }).replace(/}$/, ',"orderedItems":[');
    let item = 0;
    let boostN = 0;
    for (let n = 0; n < posts; n++) {
      const at = new Date(start + (n + boostN) * step).toISOString().replace(/\.\d+Z$/, "Z");
      if (boostBefore[n]) {
        boostN++;
        expected.boosts++;
        yield (
          (item++ ? "," : "") +
          JSON.stringify({
            id: `${OLD}/statuses/b${boostN}/activity`,
            type: "Announce",
            actor: OLD,
            published: at,
            to: [PUBLIC],
            cc: [`https://remote.example/users/u${boostN % 50}`, `${OLD}/followers`],
            object: `https://remote.example/users/u${boostN % 50}/statuses/${9000 + boostN}`,
          })
        );
      }
      const id = `${OLD}/statuses/${100000 + n}`;
      const visibility = visibilities[rand.int(visibilities.length)];
      const words = Array.from({ length: 8 + rand.int(40) }, () => WORDS[rand.int(WORDS.length)]);
      const tags = rand.float() < 0.3 ? [TAGS[rand.int(TAGS.length)]] : [];
      const cw = rand.float() < 0.08 ? `cw: ${WORDS[rand.int(WORDS.length)]}` : null;
      const replyTo = n > 10 && rand.float() < 0.15 ? `${OLD}/statuses/${100000 + rand.int(n)}` : null;
      const poll = rand.float() < 0.01;
      const mention = rand.float() < 0.05;
      const html =
        `<p>${words.join(" ")} ${n}` +
        tags
          .map(
            (t) =>
              ` <a href="https://old.example/tags/${t}" class="mention hashtag" rel="tag">#<span>${t}</span></a>`,
          )
          .join("") +
        (mention
          ? ` <span class="h-card"><a href="https://elsewhere.example/@bob" class="u-url mention">@<span>bob</span></a></span>`
          : "") +
        "</p>";
      const files = attachments.get(n) ?? [];
      const object = {
        id,
        type: poll ? "Question" : "Note",
        summary: cw,
        inReplyTo: replyTo,
        published: at,
        url: `https://old.example/@alice/${100000 + n}`,
        attributedTo: OLD,
        ...audience(visibility),
        sensitive: cw !== null,
        atomUri: id,
        inReplyToAtomUri: replyTo,
        conversation: `tag:old.example,2019:objectId=${n}:objectType=Conversation`,
        content: html,
        contentMap: { en: html },
        attachment: files.map((file, i) => ({
          type: "Document",
          mediaType: file.kind === "jpg" ? "image/jpeg" : "image/png",
          // Both spellings Mastodon's archives use.
          url: (i + n) % 2 === 0 ? `/system/${file.name}` : `/${file.name}`,
          name: rand.float() < 0.6 ? `A photo of ${WORDS[rand.int(WORDS.length)]}` : null,
          blurhash: "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
          focalPoint: [0, 0],
          width: file.width,
          height: file.height,
        })),
        tag: [
          ...tags.map((t) => ({
            type: "Hashtag",
            href: `https://old.example/tags/${t.toLowerCase()}`,
            name: `#${t}`,
          })),
          ...(mention
            ? [
                {
                  type: "Mention",
                  href: "https://elsewhere.example/users/bob",
                  name: "@bob@elsewhere.example",
                },
              ]
            : []),
        ],
        replies: {
          id: `${id}/replies`,
          type: "Collection",
          first: {
            type: "CollectionPage",
            next: `${id}/replies?only_other_accounts=true&page=true`,
            partOf: `${id}/replies`,
            items: [],
          },
        },
        ...(poll
          ? {
              endTime: new Date(Date.parse(at) + 86_400_000).toISOString(),
              closed: new Date(Date.parse(at) + 86_400_000).toISOString(),
              votersCount: 7,
              oneOf: [
                { type: "Note", name: "Tea", replies: { type: "Collection", totalItems: 3 } },
                { type: "Note", name: "Coffee", replies: { type: "Collection", totalItems: 4 } },
              ],
            }
          : {}),
      };
      expected.oldUris.push(id);
      if (poll) expected.polls++;
      if (replyTo) expected.replies++;
      if (cw) expected.cws++;
      for (const file of files)
        expected.media.push({ oldUri: id, name: file.name, size: file.size, kind: file.kind });
      yield (
        (item++ ? "," : "") +
        JSON.stringify({
          id: `${id}/activity`,
          type: "Create",
          actor: OLD,
          published: at,
          ...audience(visibility),
          object,
        })
      );
    }
    expected.items = item;
    yield "]}";
  }

  const outboxBytes = await zip.deflated("outbox.json", outbox());
  zip.stored("actor.json", [
    Buffer.from(
      JSON.stringify({
        "@context": [AS, "https://w3id.org/security/v1"],
        id: OLD,
        type: "Person",
        following: `${OLD}/following`,
        followers: `${OLD}/followers`,
        inbox: `${OLD}/inbox`,
        outbox: "outbox.json",
        preferredUsername: "alice",
        name: "Alice",
        summary: "<p>Synthetic archive for bench:import</p>",
        url: "https://old.example/@alice",
        manuallyApprovesFollowers: false,
        discoverable: true,
        published: "2019-03-01T00:00:00Z",
        icon: { type: "Image", mediaType: "image/png", url: "avatar.png" },
        likes: "likes.json",
        bookmarks: "bookmarks.json",
      }),
    ),
  ]);
  const collection = (id, n, of) =>
    Buffer.from(
      JSON.stringify({
        "@context": AS,
        id,
        type: "OrderedCollection",
        orderedItems: Array.from(
          { length: n },
          (_, i) => `https://remote.example/users/u${i % 50}/statuses/${of + i}`,
        ),
      }),
    );
  await zip.deflated("likes.json", [collection("likes.json", Math.ceil(posts / 10), 20000).toString()]);
  await zip.deflated("bookmarks.json", [
    collection("bookmarks.json", Math.ceil(posts / 50), 40000).toString(),
  ]);
  zip.stored("avatar.png", [imageHeader("png", 400, 400), new Uint8Array(2000)]);
  let mediaBytes = 0;
  const crcs = new Map();
  for (const file of files) {
    const header = imageHeader(file.kind, file.width, file.height);
    const e = zip.stored(file.name, mediaBlocks(header, file.size, seeded(file.seed)));
    mediaBytes += e.size;
    crcs.set(file.name, e.crc >>> 0);
  }
  for (const m of expected.media) m.crc = crcs.get(m.name);
  const size = zip.finish();
  return { path, size, outboxBytes, mediaBytes, expected };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? "/tmp/perch-bench-archive.zip";
  const t = performance.now();
  const r = await generateArchive(out, {
    posts: Number(process.env.BENCH_POSTS ?? 10_000),
    media: Number(process.env.BENCH_MEDIA ?? 500),
    mb: Number(process.env.BENCH_MB ?? 200),
    seed: Number(process.env.BENCH_SEED ?? 1),
  });
  console.log(
    `${out}: ${(r.size / 1e6).toFixed(1)} MB (outbox.json ${(r.outboxBytes / 1e6).toFixed(1)} MB inflated, ` +
      `${r.expected.oldUris.length} posts, ${r.expected.boosts} boosts, ${r.expected.media.length} media ` +
      `${(r.mediaBytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}
