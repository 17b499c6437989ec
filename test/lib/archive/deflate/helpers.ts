/**
 * The DEFLATE fixtures (test/fixtures/deflate/, made by make_fixtures.py with Python's zlib and gzip)
 * and helpers to run the Inflater over bytes in memory.
 */
import fixturesJson from "../../../fixtures/deflate/fixtures.json?raw";
import { concat } from "../../../../worker/lib/archive/bytes";
import type { InflateCheckpoint } from "../../../../worker/lib/archive/deflate/checkpoint";
import {
  Inflater,
  type InflaterOptions,
  type ReadInput,
} from "../../../../worker/lib/archive/deflate/inflater";

interface Fixtures {
  tarGz: { b64: string; members: { name: string; size: number; sha256: string }[] };
  streams: Record<string, { b64: string; size: number; sha256: string }>;
  malformed: Record<string, { b64: string; zlib: string }>;
}

export const deflateFixtures = JSON.parse(fixturesJson) as Fixtures;

export const fromBase64 = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** A ReadInput over bytes, counting its calls. */
export function memoryInput(bytes: Uint8Array): ReadInput & { calls: number } {
  const read = (async (offset: number, length: number) => {
    read.calls++;
    if (offset < 0 || offset + length > bytes.length)
      throw new Error(`read ${offset}+${length} out of range`);
    return bytes.slice(offset, offset + length);
  }) as ReadInput & { calls: number };
  read.calls = 0;
  return read;
}

/** Inflates all of `bytes` (or the rest, from a checkpoint) in pieces of `piece` bytes. */
export async function inflateAll(
  bytes: Uint8Array,
  options: InflaterOptions & { piece?: number; from?: InflateCheckpoint } = {},
): Promise<Uint8Array> {
  const inflater = await Inflater.open(memoryInput(bytes), bytes.length, options.from ?? null, options);
  const parts: Uint8Array[] = [];
  for (let p = await inflater.read(options.piece); p; p = await inflater.read(options.piece))
    parts.push(p.slice());
  return concat(parts);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The platform's inflate of the same bytes: an independent implementation (zlib inside workerd). */
export async function platformInflate(
  bytes: Uint8Array,
  format: "deflate-raw" | "gzip",
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function platformDeflate(
  bytes: Uint8Array,
  format: "deflate-raw" | "gzip",
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Deterministic JSON-like text (compresses ~8:1) or bytes (incompressible), `n` bytes long. */
export function pseudoText(n: number, seed: number): Uint8Array {
  const words = [
    "fediverse",
    "perch",
    '"type":"Note"',
    "élan",
    "😀",
    "<p>",
    "</p>",
    "https://example.com/",
    "\n",
  ];
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const next = xorshift(seed);
  let length = 0;
  while (length < n) {
    const x = next();
    const w = enc.encode(`${words[x % words.length]} ${(x >>> 8) % 1000} `);
    parts.push(w);
    length += w.length;
  }
  return concat(parts).subarray(0, n);
}

export function pseudoRandom(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const next = xorshift(seed);
  for (let i = 0; i < n; i++) out[i] = next() >>> 24;
  return out;
}

/** Marsaglia's xorshift32: deterministic and fast, with no precision traps (unlike a float LCG). */
function xorshift(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Where two byte arrays first differ, or -1 if they are equal (toEqual on MBs is far too slow). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
