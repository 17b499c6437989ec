/**
 * The Inflater against streams Python's zlib wrote (fixtures), against the platform's own inflate on
 * large generated streams, at every checkpoint of multi-block streams, and on malformed streams that
 * zlib rejects (with the verdict zlib gave recorded beside each).
 */
import { describe, expect, it } from "vitest";
import {
  decodeInflateCheckpoint,
  encodeInflateCheckpoint,
  type InflateCheckpoint,
} from "../../../../worker/lib/archive/deflate/checkpoint";
import { Inflater } from "../../../../worker/lib/archive/deflate/inflater";
import {
  deflateFixtures,
  firstDifference,
  fromBase64,
  inflateAll,
  memoryInput,
  platformDeflate,
  platformInflate,
  pseudoRandom,
  pseudoText,
  sha256Hex,
} from "./helpers";

const rawStreams = Object.entries(deflateFixtures.streams).filter(([name]) => !name.startsWith("gzip"));

describe("Inflater", () => {
  it.each(rawStreams)("inflates zlib's %s to the bytes zlib was given", async (_name, f) => {
    const bytes = fromBase64(f.b64);
    for (const options of [{}, { piece: 1000, rangeSize: 4096 }, { piece: 7 }]) {
      const out = await inflateAll(bytes, options);
      expect(out.length).toBe(f.size);
      expect(await sha256Hex(out)).toBe(f.sha256);
    }
  });

  it("reads its input in ranges, so memory holds one range", async () => {
    const f = deflateFixtures.streams["text level 0 (stored)"]!;
    const bytes = fromBase64(f.b64);
    const input = memoryInput(bytes);
    const inflater = await Inflater.open(input, bytes.length, null, { rangeSize: 8192 });
    while (await inflater.read()) {}
    expect(input.calls).toBe(Math.ceil(bytes.length / 8192));
  });
});

/** What our message must say for each verdict zlib gave (zlib's words, then ours). */
const SAME_FAULT: [RegExp, RegExp][] = [
  [/invalid block type/, /invalid block type/],
  [/invalid stored block lengths/, /stored block length check/],
  [/too far back/, /before the start/],
  [/invalid literal\/length code$/, /invalid length code 286/],
  [/invalid distance code/, /invalid distance code/],
  [/invalid distances set/, /distance code lengths/],
  [/invalid literal\/lengths set/, /literal\/length code lengths/],
  [/missing end-of-block/, /no end-of-block code/],
  [/invalid code lengths set/, /code length code lengths/],
  [/invalid bit length repeat/, /repeat/],
  [/too many length or distance symbols/, /too many length or distance codes/],
];

describe("Inflater on malformed streams", () => {
  it.each(Object.entries(deflateFixtures.malformed))("%s: agrees with zlib", async (_name, f) => {
    const bytes = fromBase64(f.b64);
    let outcome: { kind: string; message: string; hex?: string };
    try {
      const out = await inflateAll(bytes);
      outcome = {
        kind: "ok",
        message: "",
        hex: [...out].map((b) => b.toString(16).padStart(2, "0")).join(""),
      };
    } catch (e) {
      outcome = { kind: (e as { kind?: string }).kind ?? String(e), message: (e as Error).message };
    }
    if (f.zlib.startsWith("ok:")) expect(outcome).toEqual({ kind: "ok", message: "", hex: f.zlib.slice(3) });
    else if (f.zlib === "truncated") expect(outcome.kind).toBe("truncated");
    else {
      expect(outcome.kind).toBe("corrupt");
      const fault = SAME_FAULT.find(([theirs]) => theirs.test(f.zlib));
      expect(fault, `no mapping for zlib's "${f.zlib}"`).toBeDefined();
      expect(outcome.message).toMatch(fault![1]);
    }
  });

  it("stops a bomb at the output cap, having inflated no more than one piece past it", async () => {
    const bomb = await platformDeflate(new Uint8Array(50 * 1024 * 1024), "deflate-raw");
    const inflater = await Inflater.open(memoryInput(bomb), bomb.length, null, { maxOutput: 1024 * 1024 });
    let seen = 0;
    const drain = async () => {
      for (let p = await inflater.read(); p; p = await inflater.read()) seen += p.length;
    };
    await expect(drain()).rejects.toMatchObject({ kind: "too_large" });
    expect(seen).toBeLessThanOrEqual(1024 * 1024);
  });

  it("refuses checkpoints that are not its own, with bad_checkpoint", async () => {
    const bytes = fromBase64(deflateFixtures.streams["text level 6"]!.b64);
    const inflater = await Inflater.open(memoryInput(bytes), bytes.length, null);
    await inflater.read();
    const good = encodeInflateCheckpoint(inflater.checkpoint());
    const bad = (edit: (b: Uint8Array, v: DataView) => void) => {
      const b = good.slice();
      edit(b, new DataView(b.buffer));
      return b;
    };
    for (const b of [
      good.subarray(0, 20),
      good.subarray(0, good.length - 1),
      bad((b) => (b[0] = 0)),
      bad((b) => (b[4] = 9)),
      bad((_, v) => v.setFloat64(16, -8, true)),
      bad((_, v) => v.setFloat64(24, 1.5, true)),
      bad((_, v) => v.setUint16(10, 5, true)),
    ]) {
      expect(() => decodeInflateCheckpoint(b)).toThrow(expect.objectContaining({ kind: "bad_checkpoint" }));
    }
  });
});

describe("Inflater checkpoints", () => {
  const multiBlock = [
    "text level 0 (stored)",
    "text tiny blocks (memLevel 1)",
    "text full flush every 10000 bytes",
    "text fixed codes only",
    "text with random bytes inside",
  ];

  it.each(multiBlock)("%s: resuming at every checkpoint gives the same output", async (name) => {
    const f = deflateFixtures.streams[name]!;
    const bytes = fromBase64(f.b64);
    const whole = await inflateAll(bytes);
    const inflater = await Inflater.open(memoryInput(bytes), bytes.length, null, { rangeSize: 4096 });
    const kinds = new Set<string>();
    let checkpoints = 0;
    for (;;) {
      const piece = await inflater.read(9_000);
      // Both sides of each piece, each through its byte form.
      for (const at of ["start", "end"] as const) {
        const saved = encodeInflateCheckpoint(inflater.checkpoint(at));
        expect(saved.length).toBeLessThanOrEqual(36 + 316 + 32768);
        const c: InflateCheckpoint = decodeInflateCheckpoint(saved);
        kinds.add(c.block);
        const rest = await inflateAll(bytes, { from: c, rangeSize: 4096 });
        expect(c.total + rest.length).toBe(whole.length);
        expect(firstDifference(rest, whole.subarray(c.total))).toBe(-1);
        checkpoints++;
      }
      if (!piece) break;
    }
    expect(checkpoints).toBeGreaterThan(20);
    const expected = {
      "text level 0 (stored)": ["stored", "done"],
      "text fixed codes only": ["fixed", "done"],
    }[name] ?? ["dynamic", "done"];
    for (const k of expected) expect(kinds).toContain(k);
  });

  it("carries the CRC-32 of the output across a resume", async () => {
    const bytes = fromBase64(deflateFixtures.streams["text level 9"]!.b64);
    const a = await Inflater.open(memoryInput(bytes), bytes.length, null);
    await a.read();
    await a.read();
    const b = await Inflater.open(
      memoryInput(bytes),
      bytes.length,
      decodeInflateCheckpoint(encodeInflateCheckpoint(a.checkpoint())),
    );
    while (await b.read()) {}
    const c = await Inflater.open(memoryInput(bytes), bytes.length, null);
    while (await c.read()) {}
    expect(b.outputCrc).toBe(c.outputCrc);
    expect(b.outputOffset).toBe(deflateFixtures.streams["text level 9"]!.size);
  });
});

describe("Inflater against the platform's inflate", () => {
  const MB = 1024 * 1024;
  it.each([
    ["compressible JSON-like text", () => pseudoText(8 * MB, 3)],
    ["incompressible bytes", () => pseudoRandom(4 * MB, 4)],
  ])(
    "%s: same bytes as DecompressionStream, and how fast",
    async (what, make) => {
      const data = make();
      const packed = await platformDeflate(data, "deflate-raw");
      const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
        const t = performance.now();
        const r = await f();
        return [r, performance.now() - t];
      };
      // The first run includes compiling the decoder; the second is what a warm isolate sees.
      const [ours, cold] = await timed(() => inflateAll(packed, { piece: 32 * 1024 }));
      const [, warm] = await timed(() => inflateAll(packed, { piece: 32 * 1024 }));
      const [theirs, platform] = await timed(() => platformInflate(packed, "deflate-raw"));
      expect(ours.length).toBe(data.length);
      expect(firstDifference(ours, data)).toBe(-1);
      expect(firstDifference(theirs, data)).toBe(-1);
      const rate = (ms: number) => (ms > 0 ? `${(data.length / MB / (ms / 1000)).toFixed(0)} MB/s` : "n/a");
      console.log(
        `${what}: ${(data.length / MB).toFixed(0)} MB from ${(packed.length / MB).toFixed(2)} MB: ` +
          `Inflater (with CRC-32) ${rate(cold)} cold, ${rate(warm)} warm; DecompressionStream ${rate(platform)}`,
      );
    },
    60_000,
  );
});

describe("Inflater on damaged streams", () => {
  /** The platform's verdict: its output, or the error's message. */
  async function platform(bytes: Uint8Array): Promise<Uint8Array | string> {
    try {
      return await platformInflate(bytes, "deflate-raw");
    } catch (e) {
      return String(e);
    }
  }

  it("agrees with DecompressionStream on 600 streams with a damaged bit, failing only with typed errors", async () => {
    const tiny = fromBase64(deflateFixtures.streams["text tiny blocks (memLevel 1)"]!.b64);
    const whole = fromBase64(deflateFixtures.streams["text level 6"]!.b64);
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const outcomes = { agreeOk: 0, agreeError: 0, trailing: 0 };
    for (let i = 0; i < 600; i++) {
      const bytes = (i % 2 ? whole : tiny).slice();
      const at = rand(bytes.length);
      bytes[at] = (bytes[at] as number) ^ (1 << rand(8));
      let ours: Uint8Array | string;
      try {
        ours = await inflateAll(bytes, { maxOutput: 4 * 1024 * 1024 });
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect(["corrupt", "truncated", "too_large"]).toContain((e as { kind?: string }).kind);
        ours = (e as { kind: string }).kind;
      }
      const theirs = await platform(bytes);
      if (typeof ours !== "string" && typeof theirs !== "string") {
        expect(firstDifference(ours, theirs)).toBe(-1);
        outcomes.agreeOk++;
      } else if (typeof ours === "string" && typeof theirs === "string") outcomes.agreeError++;
      else if (typeof theirs === "string" && /trailing/i.test(theirs)) {
        // A flipped BFINAL bit ends the stream early: we stop there, the platform refuses what follows.
        outcomes.trailing++;
      } else {
        expect.fail(
          `stream ${i}: ours ${typeof ours === "string" ? ours : "ok"}, platform ${typeof theirs === "string" ? theirs : "ok"}`,
        );
      }
    }
    console.log(`damaged streams: ${JSON.stringify(outcomes)}`);
    // Most flips still decode (to other bytes, as the platform agrees); enough fail to test failing.
    expect(outcomes.agreeError).toBeGreaterThan(40);
    expect(outcomes.agreeOk).toBeGreaterThan(300);
  }, 60_000);
});
