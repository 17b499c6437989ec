/**
 * What an uploaded file really is, from its first bytes (never from the name or declared type), and
 * the pixel size of images from their headers. Only formats Perch serves back as they are.
 */

export type MediaKind = "image" | "video" | "audio";

export interface Sniffed {
  mime: string;
  ext: string;
  kind: MediaKind;
  width?: number;
  height?: number;
}

/** How many leading bytes `sniff` wants: enough for JPEG headers behind EXIF and ICC segments. */
export const SNIFF_BYTES = 512 * 1024;

const ascii = (b: Uint8Array, at: number, len: number) => String.fromCharCode(...b.subarray(at, at + len));
const u16be = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const u16le = (b: Uint8Array, at: number) => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, at: number) => u16le(b, at) | ((b[at + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, at: number) => ((u16be(b, at) << 16) >>> 0) + u16be(b, at + 2);

function size(width: number, height: number): { width?: number; height?: number } {
  return width > 0 && height > 0 ? { width, height } : {};
}

/** The type of a file from its leading bytes, or null when Perch does not accept it. */
export function sniff(bytes: Uint8Array): Sniffed | null {
  const b = bytes;
  if (b.length < 4) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    return { mime: "image/jpeg", ext: "jpg", kind: "image", ...jpegSize(b) };
  }
  if (ascii(b, 0, 8) === "\x89PNG\r\n\x1a\n") {
    const ok = ascii(b, 12, 4) === "IHDR";
    return { mime: "image/png", ext: "png", kind: "image", ...(ok ? size(u32be(b, 16), u32be(b, 20)) : {}) };
  }
  const gif = ascii(b, 0, 6);
  if (gif === "GIF87a" || gif === "GIF89a") {
    return { mime: "image/gif", ext: "gif", kind: "image", ...size(u16le(b, 6), u16le(b, 8)) };
  }
  if (ascii(b, 0, 4) === "RIFF") {
    const form = ascii(b, 8, 4);
    if (form === "WEBP") return { mime: "image/webp", ext: "webp", kind: "image", ...webpSize(b) };
    if (form === "WAVE") return { mime: "audio/wav", ext: "wav", kind: "audio" };
    return null;
  }
  if (ascii(b, 4, 4) === "ftyp") return isoMedia(b);
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    // Matroska; only its WebM profile (the DocType sits in the first few dozen bytes).
    return ascii(b, 0, 64).includes("webm") ? { mime: "video/webm", ext: "webm", kind: "video" } : null;
  }
  if (ascii(b, 0, 4) === "OggS") {
    const head = ascii(b, 0, 128);
    if (head.includes("theora")) return { mime: "video/ogg", ext: "ogv", kind: "video" };
    return { mime: "audio/ogg", ext: "ogg", kind: "audio" };
  }
  if (ascii(b, 0, 4) === "fLaC") return { mime: "audio/flac", ext: "flac", kind: "audio" };
  if (ascii(b, 0, 3) === "ID3") return { mime: "audio/mpeg", ext: "mp3", kind: "audio" };
  // An MPEG audio frame: 11 sync bits, a defined version and layer III, a valid bitrate and rate.
  if (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) {
    const version = ((b[1] ?? 0) >> 3) & 3;
    const layer = ((b[1] ?? 0) >> 1) & 3;
    const bitrate = (b[2] ?? 0) >> 4;
    const rate = ((b[2] ?? 0) >> 2) & 3;
    if (version !== 1 && layer === 1 && bitrate !== 0 && bitrate !== 15 && rate !== 3) {
      return { mime: "audio/mpeg", ext: "mp3", kind: "audio" };
    }
  }
  return null;
}

/** ISO base media files (MP4, MOV, M4A, AVIF) by their major and compatible brands. */
function isoMedia(b: Uint8Array): Sniffed | null {
  const boxSize = u32be(b, 0);
  const brands: string[] = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= Math.min(boxSize, 64, b.length); at += 4) brands.push(ascii(b, at, 4));
  const major = brands[0] as string;
  if (major === "avif" || major === "avis")
    return { mime: "image/avif", ext: "avif", kind: "image", ...ispe(b) };
  if (major === "M4A " || major === "M4B ") return { mime: "audio/mp4", ext: "m4a", kind: "audio" };
  if (major === "qt  ") return { mime: "video/quicktime", ext: "mov", kind: "video" };
  const video = [
    "isom",
    "iso2",
    "iso4",
    "iso5",
    "iso6",
    "mp41",
    "mp42",
    "avc1",
    "M4V ",
    "dash",
    "MSNV",
    "3gp4",
    "3gp5",
  ];
  if (brands.some((x) => video.includes(x))) return { mime: "video/mp4", ext: "mp4", kind: "video" };
  return null;
}

/** AVIF/HEIF image size from the first `ispe` property. */
function ispe(b: Uint8Array): { width?: number; height?: number } {
  for (let i = 12; i + 20 <= b.length && i < 64 * 1024; i++) {
    if (b[i] === 0x69 && ascii(b, i, 4) === "ispe") return size(u32be(b, i + 8), u32be(b, i + 12));
  }
  return {};
}

function jpegSize(b: Uint8Array): { width?: number; height?: number } {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return {};
    const marker = b[at + 1] ?? 0;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    const len = u16be(b, at + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return size(u16be(b, at + 7), u16be(b, at + 5));
    }
    if (marker === 0xd9 || marker === 0xda || len < 2) return {};
    at += 2 + len;
  }
  return {};
}

function webpSize(b: Uint8Array): { width?: number; height?: number } {
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 ") {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return {};
    return size(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  if (chunk === "VP8L") {
    if (b[20] !== 0x2f) return {};
    const bits = (b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24);
    return size((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === "VP8X") return size(u24le(b, 24) + 1, u24le(b, 27) + 1);
  return {};
}

/** The MIME type of a file Perch stored, from the extension of its key or URL. */
export function mimeFromExtension(pathOrUrl: string): string | undefined {
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(pathOrUrl)?.[1]?.toLowerCase();
  const table: Record<string, string> = {
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    png: "image/png",
    gif: "image/gif",
    webp: "image/webp",
    avif: "image/avif",
    mp4: "video/mp4",
    mov: "video/quicktime",
    webm: "video/webm",
    ogv: "video/ogg",
    mp3: "audio/mpeg",
    ogg: "audio/ogg",
    wav: "audio/wav",
    flac: "audio/flac",
    m4a: "audio/mp4",
  };
  return ext ? table[ext] : undefined;
}

/** The first video track's display size from an MP4/MOV `moov` box (its tkhd), if any. */
export function mp4VideoSize(moov: Uint8Array): { width?: number; height?: number } {
  const walk = (from: number, to: number, depth: number): { width?: number; height?: number } => {
    let at = from;
    while (at + 8 <= to) {
      let len = u32be(moov, at);
      const type = ascii(moov, at + 4, 4);
      let header = 8;
      if (len === 1) {
        // 64-bit size: boxes inside moov never need it, but skip correctly anyway
        len = u32be(moov, at + 8) * 2 ** 32 + u32be(moov, at + 12);
        header = 16;
      } else if (len === 0) len = to - at;
      if (len < header || at + len > to) return {};
      if (type === "tkhd") {
        const version = moov[at + header] ?? 0;
        const base = at + header + 4 + (version === 1 ? 32 : 20) + 8 + 8 + 36;
        const found = size(u32be(moov, base) >>> 16, u32be(moov, base + 4) >>> 16);
        if (found.width) return found;
      } else if ((type === "moov" || type === "trak") && depth < 3) {
        const found = walk(at + header, at + len, depth + 1);
        if (found.width) return found;
      }
      at += len;
    }
    return {};
  };
  const start = ascii(moov, 4, 4) === "moov" ? 0 : -1;
  return start === 0 ? walk(0, moov.length, 0) : {};
}

/**
 * Finds the top-level `moov` box of an MP4/MOV file by reading box headers only (it may sit at the
 * end of the file) and answers the video size. `read(offset, length)` reads part of the file.
 */
export async function readMp4VideoSize(
  fileSize: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
): Promise<{ width?: number; height?: number }> {
  let at = 0;
  for (let boxes = 0; at + 8 <= fileSize && boxes < 64; boxes++) {
    const head = await read(at, 16);
    let len = u32be(head, 0);
    if (len === 1) len = u32be(head, 8) * 2 ** 32 + u32be(head, 12);
    else if (len === 0) len = fileSize - at;
    if (len < 8) return {};
    if (ascii(head, 4, 4) === "moov") {
      if (len > 16 * 1024 * 1024) return {};
      return mp4VideoSize(await read(at, len));
    }
    at += len;
  }
  return {};
}
