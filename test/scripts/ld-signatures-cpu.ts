/**
 * CPU cost of verifying an RsaSignature2017 in Node, to compare with the figure the workerd test logs
 * (test/lib/ld-signatures.test.ts, "CPU cost in workerd"). Run: npx tsx test/scripts/ld-signatures-cpu.ts
 * The document is the real Mastodon 2.4.3 Create of test/fixtures/vectors/mastodon-2.4.3-delivery.http.
 */
import { readFileSync } from "node:fs";
import { verifyLdSignature, type LdKeyLookup } from "../../worker/lib/ld-signatures";

// Paths as strings: the Workers and Node typings disagree about URL.
const fixture = (name: string) =>
  decodeURIComponent(new URL(`../fixtures/vectors/${name}`, import.meta.url).pathname);
const raw = readFileSync(fixture("mastodon-2.4.3-delivery.http"), "utf8");
const vectors = JSON.parse(readFileSync(fixture("http-signatures.json"), "utf8"));
const spki: string = vectors.mastodon_2_4_3_delivery.sender_public_key_spki_base64;
const publicKeyPem = `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`;
const lookup: LdKeyLookup = async () => ({
  ownerUri: "https://mastodon.sergal.org/users/Sir_Boops",
  publicKeyPem,
});
const body = () => JSON.parse(raw.slice(raw.search(/\r?\n\r?\n/)).trim());

async function time(doc: unknown): Promise<number> {
  const t = performance.now();
  const result = await verifyLdSignature(doc, lookup);
  const elapsed = performance.now() - t;
  if (!result.ok) throw new Error(`the vector did not verify: ${result.reason}`);
  return elapsed;
}

const cold = await time(body());
const runs: number[] = [];
for (let i = 0; i < 50; i++) runs.push(await time(body()));
runs.sort((a, b) => a - b);
const other = body();
other["@context"][2] = { ...other["@context"][2], blurhash: "toot:blurhash" };
const newInline = await time(other);
console.log(
  `LD verify in Node ${process.version}: first ${cold.toFixed(2)} ms, then median ` +
    `${runs[25]!.toFixed(2)} ms (min ${runs[0]!.toFixed(2)}, max ${runs[49]!.toFixed(2)}) of 50; ` +
    `a new inline context ${newInline.toFixed(2)} ms`,
);
