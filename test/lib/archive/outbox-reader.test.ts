/**
 * The outbox reader against a Mastodon-shaped outbox.json written by Python's json module
 * (fixtures.ts), checked against the platform's JSON.parse, at every chunking, and on malformed input.
 */
import { describe, expect, it } from "vitest";
import { OutboxReader, type OutboxOptions } from "../../../worker/lib/archive/json/outbox-reader";
import { chunked, fixtures } from "./fixtures";

const enc = (s: string) => new TextEncoder().encode(s);

async function read(bytes: Uint8Array, options?: OutboxOptions & { chunk?: number }) {
  const reader = new OutboxReader(chunked(bytes, options?.chunk ?? 4096), options);
  const items: { index: number; item: unknown }[] = [];
  let fieldsAtFirst: Record<string, unknown> | null = null;
  for await (const it of reader.items()) {
    fieldsAtFirst ??= { ...reader.fields };
    items.push(it);
  }
  return { items, fields: reader.fields, fieldsAtFirst, count: reader.itemCount };
}

async function errorOf(bytes: Uint8Array | string, options?: OutboxOptions & { chunk?: number }) {
  try {
    await read(typeof bytes === "string" ? enc(bytes) : bytes, options);
    return { kind: "resolved", message: "" };
  } catch (e) {
    return { kind: (e as { kind: string }).kind, message: (e as Error).message };
  }
}

describe("OutboxReader", () => {
  const whole = JSON.parse(new TextDecoder().decode(fixtures.outboxJson));

  it("yields each item of a Mastodon outbox with its index, and the collection's other members", async () => {
    const { items, fields, fieldsAtFirst } = await read(fixtures.outboxJson);
    expect(items.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(items.map((i) => i.item)).toEqual(whole.orderedItems);
    expect((items[0]!.item as any).object.attachment[0].url).toBe(
      "/system/media_attachments/files/109/000/001/original/abc.png",
    );
    expect((items[1]!.item as any).type).toBe("Announce");
    expect((items[2]!.item as any).object.type).toBe("Question");
    const { orderedItems: _items, ...rest } = whole;
    expect(fieldsAtFirst).toEqual(rest);
    expect(fields).toEqual(rest);
  });

  it("gives the same items for every chunk size, splitting UTF-8, escapes and numbers", async () => {
    for (const chunk of [1, 2, 3, 5, 7, 13, 64]) {
      const { items } = await read(fixtures.outboxJson, { chunk });
      expect(items.map((i) => i.item)).toEqual(whole.orderedItems);
    }
  });

  it("starts from item n without building the ones before", async () => {
    const { items, count } = await read(fixtures.outboxJson, { startAt: 2, maxItemBytes: 2000 });
    expect(items).toEqual([{ index: 2, item: whole.orderedItems[2] }]);
    expect(count).toBe(3);
    // Item 0 is larger than 1 byte: skipping it must not cut it out.
    expect((await read(fixtures.outboxJson, { startAt: 3, maxItemBytes: 1 })).items).toEqual([]);
  });

  it("reads members after orderedItems, scalars as items, and whitespace anywhere", async () => {
    const doc =
      ' \n{ "type" : "OrderedCollection" ,\t"orderedItems" :\r\n[ 1 , -2.5e+3 , "s\\"]}" , true , null , [ ] , { } ] , "last" : { "a" : [ 1 ] } }\n ';
    const { items, fields } = await read(enc(doc), { chunk: 3 });
    expect(items.map((i) => i.item)).toEqual([1, -2500, 's"]}', true, null, [], {}]);
    expect(fields).toEqual({ type: "OrderedCollection", last: { a: [1] } });
  });

  it("matches JSON.parse on random documents at random chunk sizes", async () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 4 || r < 0.3)
        return [0, -1.5e-7, 123456789, 'é😀\\"\n', true, null, "}]"][Math.floor(rand() * 7)];
      if (r < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}\u00fc`, value(depth + 1)]),
      );
    };
    for (let round = 0; round < 30; round++) {
      const items = Array.from({ length: 20 }, () => value(0));
      const doc = { id: "x", orderedItems: items, after: value(0) };
      const got = await read(enc(JSON.stringify(doc, null, round % 2 ? 2 : undefined)), {
        chunk: 1 + Math.floor(rand() * 50),
      });
      expect(got.items.map((i) => i.item)).toEqual(items);
      expect(got.fields).toEqual({ id: "x", after: doc.after });
    }
  });

  it("fails exactly when JSON.parse fails, for single-byte damage anywhere", async () => {
    const text = JSON.stringify({
      type: "OrderedCollection",
      orderedItems: [{ a: [1, 2.5, "x"] }, "y", null],
    });
    const replacements = [...'{}[]:,"\\ 0-.eatx\u0001'];
    for (let at = 0; at < text.length; at++) {
      for (const r of replacements) {
        const damaged = text.slice(0, at) + r + text.slice(at + 1);
        let parsed: unknown;
        try {
          parsed = JSON.parse(damaged);
        } catch {
          parsed = undefined;
        }
        const ours = await errorOf(damaged, { chunk: 5 });
        const shaped =
          parsed !== null &&
          typeof parsed === "object" &&
          !Array.isArray(parsed) &&
          (!("orderedItems" in parsed) || Array.isArray((parsed as any).orderedItems));
        if (parsed === undefined) expect([damaged, ours.kind]).not.toEqual([damaged, "resolved"]);
        else if (shaped) expect([damaged, ours.kind]).toEqual([damaged, "resolved"]);
      }
    }
  });

  it("says where malformed JSON goes wrong", async () => {
    expect((await errorOf('{"orderedItems": [{"a": 1,}]}')).message).toMatch(
      /byte 26 \(line 1, column 27\): expected a key/,
    );
    expect((await errorOf('{"orderedItems": [\n  1\n  2]}')).message).toMatch(
      /line 3, column 3\): expected ',' or '\]'/,
    );
    expect(await errorOf('{"a": "\\x"}')).toMatchObject({
      kind: "json",
      message: expect.stringMatching(/bad escape/),
    });
    expect(await errorOf('{"a": 01}')).toMatchObject({ kind: "json" });
    expect(await errorOf('{"a": tru}')).toMatchObject({ kind: "json" });
    expect(await errorOf('{"a": [}')).toMatchObject({ kind: "json" });
    expect(await errorOf('{"a": 1} x')).toMatchObject({
      kind: "json",
      message: expect.stringMatching(/after the end/),
    });
    expect(await errorOf('{"a": "tab\there"}')).toMatchObject({
      kind: "json",
      message: expect.stringMatching(/control/),
    });
    expect(await errorOf("[1, 2]")).toMatchObject({
      message: expect.stringMatching(/must be a JSON object/),
    });
    expect(await errorOf('{"orderedItems": {}}')).toMatchObject({
      message: expect.stringMatching(/must be an array/),
    });
  });

  it("says truncated for a document that ends early, at any cut", async () => {
    for (let cut = 0; cut < fixtures.outboxJson.length; cut += 97) {
      expect((await errorOf(fixtures.outboxJson.subarray(0, cut))).kind).toBe("truncated");
    }
  });

  it("refuses nesting past the cap, even 100,000 deep, without building it", async () => {
    const deep = `{"orderedItems": [${"[".repeat(100_000)}`;
    expect(await errorOf(deep)).toMatchObject({
      kind: "too_deep",
      message: expect.stringMatching(/byte 80 .*nested deeper than 64/),
    });
    expect(
      (await errorOf(`{"orderedItems": [${"[".repeat(10)}${"]".repeat(10)}]}`, { maxDepth: 12 })).kind,
    ).toBe("resolved");
    expect(
      (await errorOf(`{"orderedItems": [${"[".repeat(11)}${"]".repeat(11)}]}`, { maxDepth: 12 })).kind,
    ).toBe("too_deep");
  });

  it("refuses an item or member over its size cap", async () => {
    const big = JSON.stringify({ orderedItems: ["x".repeat(5000)] });
    expect((await errorOf(big, { maxItemBytes: 4096 })).kind).toBe("too_large");
    expect((await errorOf(big, { maxItemBytes: 6000 })).kind).toBe("resolved");
    expect((await errorOf(JSON.stringify({ a: "x".repeat(5000) }), { maxFieldBytes: 4096 })).kind).toBe(
      "too_large",
    );
  });

  it("refuses invalid UTF-8 inside an item", async () => {
    const bytes = enc('{"orderedItems": ["ab"]}');
    bytes[19] = 0xff;
    expect((await errorOf(bytes)).kind).toBe("json");
  });
});
