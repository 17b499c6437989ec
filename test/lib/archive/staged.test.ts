/**
 * StagedObject in the test R2 bucket: two streams appended to in uneven pieces become one object of
 * exactly their bytes, uploaded in 5 MiB parts piped from the staged segments; repeating any step from
 * the state before it (a crash before the state was saved) changes nothing; the segments are deleted.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { concat } from "../../../worker/lib/archive/bytes";
import { StagedObject, type StagedState } from "../../../worker/lib/archive/staged";
import { sha256 } from "./fixtures";

const MiB = 1024 * 1024;

/** Deterministic bytes that do not repeat (so a misplaced range shows). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function listed(prefix: string): Promise<string[]> {
  return (await env.MEDIA.list({ prefix })).objects.map((o) => o.key);
}

describe("StagedObject", () => {
  it("assembles appends of any size into parts, repeatable at every step", async () => {
    const key = "staged-test/out.zip";
    const prefix = "staged-test/seg/";
    let state: StagedState = await StagedObject.begin(env.MEDIA, key, 2, "application/zip");
    const sizes = [100, 70_000, 300_000, 5, 250_000, 1_000_000, 40_000, 200_000];
    const streams: Uint8Array[][] = [[], []];
    let steps = 0;
    /** One step, then the same step again from the state before it: the second is the one kept. */
    const step = async (work: (s: StagedObject) => Promise<void>) => {
      const before = structuredClone(state);
      await work(new StagedObject(env.MEDIA, key, prefix, structuredClone(before)));
      const again = new StagedObject(env.MEDIA, key, prefix, structuredClone(before));
      await work(again);
      state = again.state;
      steps++;
    };
    for (let i = 0; i < 48; i++) {
      const data = bytes(sizes[i % sizes.length] as number, i);
      const small = bytes(60 + i, 1000 + i);
      streams[0]!.push(data);
      streams[1]!.push(small);
      await step(async (s) => {
        await s.append(0, [data]);
        await s.append(1, [small]);
      });
      while (new StagedObject(env.MEDIA, key, prefix, state).partReady) await step((s) => s.uploadNextPart());
    }
    await step(async (s) => s.seal());
    while (new StagedObject(env.MEDIA, key, prefix, state).partReady) await step((s) => s.uploadNextPart());
    const expected = concat([...streams[0]!, ...streams[1]!]);
    expect(expected.length).toBeGreaterThan(10 * MiB);
    expect(state.parts.length).toBe(Math.ceil(expected.length / (5 * MiB)));
    // Small appends went into a segment already there: none below 192 KiB but the last of each stream.
    for (const sizes of state.streams) {
      expect(sizes.slice(0, -1).every((n) => n >= 192 * 1024)).toBe(true);
    }
    expect(steps).toBeGreaterThan(50);

    const staged = new StagedObject(env.MEDIA, key, prefix, state);
    expect(staged.allUploaded).toBe(true);
    const object = await staged.complete();
    expect(object.size).toBe(expected.length);
    // Completing again (a crash before the job row said so) finds the object.
    await new StagedObject(env.MEDIA, key, prefix, structuredClone(state)).complete();
    const stored = new Uint8Array(await (await env.MEDIA.get(key))!.arrayBuffer());
    expect(stored.length).toBe(expected.length);
    expect(await sha256(stored)).toBe(await sha256(expected));
    expect(await listed(prefix)).toEqual([]);
  }, 120_000);

  it("discards an upload given up: no segments stay", async () => {
    const prefix = "staged-test/gone/";
    const state = await StagedObject.begin(env.MEDIA, "staged-test/gone.zip", 1, "application/zip");
    const s = new StagedObject(env.MEDIA, "staged-test/gone.zip", prefix, state);
    await s.append(0, [bytes(300_000, 1)]);
    await s.append(0, [bytes(10, 2)]);
    expect((await listed(prefix)).length).toBe(2);
    await s.discard();
    expect(await listed(prefix)).toEqual([]);
    expect(await env.MEDIA.head("staged-test/gone.zip")).toBeNull();
  });
});
