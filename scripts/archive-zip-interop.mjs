// Checks Perch's ZIP writer against independent readers: Python's zipfile (testzip, and every
// member's bytes) and Info-ZIP's `unzip -t`. Runs the writer in Node (same Web Streams and
// CompressionStream as workerd), bundled with esbuild. Usage: node scripts/archive-zip-interop.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const out = mkdtempSync(join(tmpdir(), "perch-zip-"));
await build({
  entryPoints: ["worker/lib/archive/zip/writer.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  outfile: join(out, "writer.mjs"),
  logLevel: "error",
});
const { ZipWriter } = await import(join(out, "writer.mjs"));

function bytes(n, seed, alphabet = 256) {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % alphabet;
  return b;
}
const members = [
  ["outbox.json", new TextEncoder().encode('{"orderedItems":[]}'), "deflate"],
  ["media_attachments/", new Uint8Array(0), "store"],
  ["media_attachments/a.png", bytes(70_000, 1), "store"],
  ["media_attachments/clip.mp4", bytes(3_000_000, 2, 16), "deflate"],
  ["notes/ünïcode.txt", new TextEncoder().encode("ünïcode ✓"), "deflate"],
  ["empty.txt", new Uint8Array(0), "deflate"],
];

const check = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
print(json.dumps([[i.filename, i.file_size, i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))
`;
const sha = async (b) => Buffer.from(await crypto.subtle.digest("SHA-256", b)).toString("hex");
let failed = false;
for (const forceZip64 of [false, true]) {
  const chunks = [];
  const zip = new ZipWriter(
    { write: async (c) => void chunks.push(c.slice()), close: async () => {} },
    { forceZip64 },
  );
  for (const [name, data, method] of members) await zip.add(name, new Blob([data]).stream(), { method });
  await zip.finish();
  const file = join(out, forceZip64 ? "zip64.zip" : "plain.zip");
  writeFileSync(file, Buffer.concat(chunks));
  const got = JSON.parse(execFileSync("python3", ["-c", check, file]).toString());
  const want = await Promise.all(
    members.map(async ([n, d, m]) => [n, d.length, m === "store" ? 0 : 8, await sha(d)]),
  );
  const same = JSON.stringify(got) === JSON.stringify(want);
  execFileSync("unzip", ["-tq", file], { stdio: "inherit" });
  console.log(
    `${forceZip64 ? "zip64" : "plain"}: Python zipfile ${same ? "reads every member intact" : "DISAGREES"}`,
  );
  if (!same) {
    failed = true;
    console.log(JSON.stringify(got, null, 1));
  }
}
process.exit(failed ? 1 : 0);
