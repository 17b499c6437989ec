/** Tiny real media files, built in the tests (no fixtures on disk). */

export function b64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
}

/** 1×1 PNG (RGBA). */
export const PNG_1x1 = b64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
);
/** 1×1 GIF89a. */
export const GIF_1x1 = b64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");
/** 1×1 progressive JPEG (JFIF, DQT, SOF2, DHT, SOS). */
export const JPEG_1x1 = b64(
  "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
);
/** 1×1 lossless WebP (VP8L). */
export const WEBP_1x1 = b64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A valid grey PNG of any size (8-bit greyscale, zlib-compressed rows). */
export async function png(width: number, height: number): Promise<Uint8Array> {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const raw = new Uint8Array((width + 1) * height).fill(0x80);
  for (let y = 0; y < height; y++) raw[y * (width + 1)] = 0; // filter type none
  const zipped = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer(),
  );
  return concat(
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zipped),
    chunk("IEND", new Uint8Array()),
  );
}

export function fileOf(bytes: Uint8Array, name: string, type: string): File {
  return new File([bytes], name, { type });
}

function box(type: string, ...content: Uint8Array[]): Uint8Array {
  const body = concat(...content);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, out.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  return out;
}

/** A version-0 tkhd of a track with this display size (16.16 fixed point). */
function tkhd(width: number, height: number): Uint8Array {
  const b = new Uint8Array(84);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x0000000f); // version 0, flags enabled|in movie|in preview
  v.setUint32(12, 1); // track id
  v.setUint32(76, width * 65536);
  v.setUint32(80, height * 65536);
  return b;
}

/**
 * A structurally valid MP4 (ftyp, mdat, moov with an audio-like track of size 0 and a video track):
 * `moovFirst` false puts the movie box at the end, as cameras write it.
 */
export function mp4(width: number, height: number, moovFirst = false): Uint8Array {
  const ftyp = box(
    "ftyp",
    new TextEncoder().encode("isom"),
    new Uint8Array(4),
    new TextEncoder().encode("isomiso2mp41"),
  );
  const mvhd = box("mvhd", new Uint8Array(100));
  const moov = box(
    "moov",
    mvhd,
    box("trak", box("tkhd", tkhd(0, 0))),
    box("trak", box("tkhd", tkhd(width, height))),
  );
  const mdat = box("mdat", new Uint8Array(1000).fill(7));
  return moovFirst ? concat(ftyp, moov, mdat) : concat(ftyp, mdat, moov);
}
