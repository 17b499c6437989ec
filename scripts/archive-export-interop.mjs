// Checks the export's resumable ZIP writer against independent readers: Python's zipfile (testzip,
// and every member's bytes) and Info-ZIP's `unzip -t`. The writer runs in Node (same Web Streams and
// CompressionStream as workerd), bundled with esbuild, over a small in-memory stand-in for the R2
// calls it makes, resumed from its saved state in a new writer for every "invocation", with an entry
// that stays open across invocations and across a 5 MiB part boundary.
// Usage: node scripts/archive-export-interop.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const out = mkdtempSync(join(tmpdir(), "perch-export-zip-"));
await build({
  entryPoints: ["worker/lib/archive/zip/resumable-writer.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  outfile: join(out, "resumable.mjs"),
  logLevel: "error",
});
const { ResumableZip, newZipState, forgetState } = await import(join(out, "resumable.mjs"));

/** Only what ResumableZip calls: get/put/delete of objects, and one multipart upload's parts. */
function memoryBucket() {
  const objects = new Map();
  const parts = new Map();
  let completed = null;
  return {
    objects,
    completed: () => completed,
    async get(key) {
      const b = objects.get(key);
      return b ? { arrayBuffer: async () => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) } : null;
    },
    async put(key, bytes) {
      objects.set(key, bytes.slice());
    },
    async delete(key) {
      objects.delete(key);
    },
    resumeMultipartUpload() {
      return {
        async uploadPart(n, bytes) {
          parts.set(n, bytes.slice());
          return { partNumber: n, etag: `e${n}` };
        },
        async complete(list) {
          completed = Buffer.concat(list.map((p) => parts.get(p.partNumber)));
          return { size: completed.length };
        },
      };
    },
  };
}

function bytes(n, seed, alphabet = 256) {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % alphabet;
  return b;
}

const bucket = memoryBucket();
const target = { key: "archive.zip", uploadId: "u", prefix: "exports/1" };
let state = newZipState();
const want = [];
async function invocation(work) {
  const zip = await ResumableZip.resume(bucket, target, state);
  await work(zip);
  const next = await zip.checkpoint();
  await forgetState(bucket, target.prefix, state);
  state = next;
}
const enc = new TextEncoder();
const actor = enc.encode('{"type":"Person","name":"ünïcode ✓"}');
const a = bytes(3_000_000, 1);
const b = bytes(4_000_000, 2, 16);
await invocation(async (zip) => {
  await zip.add("actor.json", actor, { method: "deflate" });
  await zip.add("media_attachments/files/1/original/a.png", new Blob([a]).stream(), { method: "store" });
});
await invocation(async (zip) => {
  await zip.add("media_attachments/files/2/original/b.mp4", new Blob([b]).stream(), { method: "store" });
  await zip.begin("outbox.json");
  await zip.append(enc.encode('{"orderedItems":['));
});
const items = [];
for (let i = 0; i < 4; i++) {
  const piece = bytes(1_000_000, 10 + i, 26).map((c) => 97 + c);
  items.push(piece);
  await invocation(async (zip) => {
    await zip.append(enc.encode(`${i ? "," : ""}"`));
    await zip.append(piece);
    await zip.append(enc.encode('"'));
  });
}
await invocation(async (zip) => {
  await zip.append(enc.encode("]}"));
  await zip.end();
  await zip.add("likes.json", enc.encode('{"orderedItems":[]}'), { method: "deflate" });
});
const last = await ResumableZip.resume(bucket, target, state);
await last.finish();

const outbox = Buffer.concat([
  enc.encode('{"orderedItems":['),
  ...items.flatMap((p, i) => [enc.encode(`${i ? "," : ""}"`), p, enc.encode('"')]),
  enc.encode("]}"),
]);
want.push(
  ["actor.json", actor, 8],
  ["media_attachments/files/1/original/a.png", a, 0],
  ["media_attachments/files/2/original/b.mp4", b, 0],
  ["outbox.json", outbox, 0],
  ["likes.json", enc.encode('{"orderedItems":[]}'), 8],
);

const check = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
print(json.dumps([[i.filename, i.file_size, i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))
`;
const sha = async (d) => Buffer.from(await crypto.subtle.digest("SHA-256", d)).toString("hex");
const file = join(out, "export.zip");
writeFileSync(file, bucket.completed());
const got = JSON.parse(execFileSync("python3", ["-c", check, file]).toString());
const expected = await Promise.all(want.map(async ([n, d, m]) => [n, d.length, m, await sha(d)]));
const same = JSON.stringify(got) === JSON.stringify(expected);
execFileSync("unzip", ["-tq", file], { stdio: "inherit" });
const leftover = [...bucket.objects.keys()].filter((k) => k !== `${target.prefix}/writer-${state.seq}.bin`);
console.log(
  `resumable export ZIP of ${bucket.completed().length} bytes over 7 invocations: Python zipfile ${
    same ? "reads every member intact" : "DISAGREES"
  }; state objects left besides the last: ${leftover.length}`,
);
if (!same) console.log(JSON.stringify(got, null, 1));
process.exit(same && leftover.length === 0 ? 0 : 1);
