import { describe, expect, it } from "vitest";
import { api, remoteAccount } from "../helpers/api";
import { BASE, request } from "../helpers/app";

/** A decoded 8-bit RGB or RGBA PNG: its size and a pixel reader. */
interface Decoded {
  width: number;
  height: number;
  pixel(x: number, y: number): [number, number, number];
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes a PNG the way a viewer does: chunks with their CRCs, zlib-inflated IDAT, unfiltered rows. */
async function decodePng(bytes: Uint8Array): Promise<Decoded> {
  expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (at < bytes.length) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.slice(at + 4, at + 8));
    const data = bytes.slice(at + 8, at + 8 + length);
    expect(view.getUint32(at + 8 + length), `${type} CRC`).toBe(crc32(bytes.slice(at + 4, at + 8 + length)));
    types.push(type);
    if (type === "IHDR") {
      const h = new DataView(data.buffer);
      width = h.getUint32(0);
      height = h.getUint32(4);
      expect(data[8], "bit depth").toBe(8);
      expect([2, 6], "colour type").toContain(data[9]);
      expect(data[12], "interlace").toBe(0);
      channels = data[9] === 2 ? 3 : 4;
    }
    if (type === "IDAT") idat.push(data);
    at += 12 + length;
  }
  expect(types[0]).toBe("IHDR");
  expect(types.at(-1)).toBe("IEND");
  const raw = await inflate(new Uint8Array(idat.flatMap((d) => [...d])));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    expect(filter, `filter type of row ${y}`).toBeLessThanOrEqual(4);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      out[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => {
      const i = y * stride + x * channels;
      return [out[i]!, out[i + 1]!, out[i + 2]!];
    },
  };
}

const grey = ([r, g, b]: number[]) => Math.abs(r! - g!) < 12 && Math.abs(g! - b!) < 12;
const brightness = ([r, g, b]: number[]) => (r! + g! + b!) / 3;

async function fetchPng(path: string) {
  const res = await request(path);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/png");
  const cache = res.headers.get("cache-control") ?? "";
  expect(cache).toMatch(/\bpublic\b/);
  expect(Number(/max-age=(\d+)/.exec(cache)?.[1])).toBeGreaterThanOrEqual(3600);
  expect(cache).not.toMatch(/immutable/);
  return decodePng(new Uint8Array(await res.arrayBuffer()));
}

describe("the default avatar and header", () => {
  it("the avatar is a square PNG of a darker grey figure on a light grey background", async () => {
    const png = await fetchPng("/avatars/original/missing.png");
    expect(png.width).toBe(png.height);
    expect(png.width).toBeGreaterThanOrEqual(120);
    expect(png.width).toBeLessThanOrEqual(400);
    const at = (fx: number, fy: number) => png.pixel(Math.floor(png.width * fx), Math.floor(png.height * fy));
    const background = [at(0.02, 0.02), at(0.98, 0.02), at(0.05, 0.6), at(0.95, 0.6)];
    const figure = [at(0.5, 0.39), at(0.5, 0.95), at(0.3, 0.97)];
    for (const px of [...background, ...figure]) expect(grey(px), String(px)).toBe(true);
    for (const px of background) expect(brightness(px)).toBeGreaterThan(190);
    for (const px of figure) {
      expect(brightness(px)).toBeGreaterThan(100);
      expect(brightness(px)).toBeLessThan(brightness(background[0]!) - 30);
    }
    // Between the head and the shoulders the background shows: a figure, not a blob.
    expect(brightness(at(0.5, 0.6))).toBeGreaterThan(190);
  });

  it("the header is a wide PNG of one light grey-blue", async () => {
    const png = await fetchPng("/headers/original/missing.png");
    expect(png.width / png.height).toBe(3);
    expect(png.width).toBeGreaterThanOrEqual(300);
    const colours = new Set<string>();
    for (let y = 0; y < png.height; y += 17)
      for (let x = 0; x < png.width; x += 23) colours.add(String(png.pixel(x, y)));
    expect([...colours]).toHaveLength(1);
    const [r, g, b] = png.pixel(0, 0);
    expect(brightness([r, g, b])).toBeGreaterThan(190);
    expect(b).toBeGreaterThanOrEqual(r);
  });

  it("are what an account without its own images links to", async () => {
    const bob = await remoteAccount("bob");
    const res = await api("GET", `/api/v1/accounts/${bob.id}`);
    expect(res.body).toMatchObject({
      avatar: `${BASE}/avatars/original/missing.png`,
      avatar_static: `${BASE}/avatars/original/missing.png`,
      header: `${BASE}/headers/original/missing.png`,
      header_static: `${BASE}/headers/original/missing.png`,
    });
  });
});
