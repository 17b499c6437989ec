import { describe, expect, it } from "vitest";
import { isMediaKey, parseRange } from "../../../worker/lib/media/serve";
import { mimeFromExtension, readMp4VideoSize, sniff } from "../../../worker/lib/media/sniff";
import { GIF_1x1, JPEG_1x1, PNG_1x1, WEBP_1x1, mp4, png } from "./files";

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe("sniffing uploads by their bytes", () => {
  it.each([
    ["PNG", PNG_1x1, "image/png"],
    ["GIF", GIF_1x1, "image/gif"],
    ["JPEG", JPEG_1x1, "image/jpeg"],
    ["WebP", WEBP_1x1, "image/webp"],
  ])("recognizes a real %s and reads its size", (_n, file, mime) => {
    expect(sniff(file)).toMatchObject({ mime, kind: "image", width: 1, height: 1 });
  });

  it("reads a PNG's size from IHDR", async () => {
    expect(sniff(await png(640, 3))).toMatchObject({ width: 640, height: 3 });
  });

  it("reads a JPEG's size from SOF0 behind an APP1 segment", () => {
    const app1 = [0xff, 0xe1, 0x00, 0x06, 1, 2, 3, 4];
    const sof0 = [0xff, 0xc0, 0x00, 0x11, 8, 0x01, 0xe0, 0x02, 0x80, 3];
    expect(sniff(bytes([0xff, 0xd8], app1, sof0, new Array(20).fill(0)))).toMatchObject({
      mime: "image/jpeg",
      width: 640,
      height: 480,
    });
  });

  it("reads WebP VP8 and VP8X sizes", () => {
    const vp8 = bytes(
      "RIFF",
      [0, 0, 0, 0],
      "WEBPVP8 ",
      [0, 0, 0, 0],
      [0, 0, 0],
      [0x9d, 0x01, 0x2a],
      [0x20, 0x03, 0x58, 0x02],
    );
    expect(sniff(vp8)).toMatchObject({ mime: "image/webp", width: 800, height: 600 });
    const vp8x = bytes(
      "RIFF",
      [0, 0, 0, 0],
      "WEBPVP8X",
      [10, 0, 0, 0],
      [0, 0, 0, 0],
      [0xff, 0x0f, 0],
      [0x37, 0x04, 0],
    );
    expect(sniff(vp8x)).toMatchObject({ width: 4096, height: 1080 });
  });

  it("reads a GIF's logical screen size", () => {
    expect(sniff(bytes("GIF89a", [0x2c, 0x01, 0xc8, 0x00], new Array(10).fill(0)))).toMatchObject({
      width: 300,
      height: 200,
    });
  });

  it.each([
    ["MP4", bytes([0, 0, 0, 0x18], "ftypisom", [0, 0, 2, 0], "isomiso2"), "video/mp4", "video"],
    ["MOV", bytes([0, 0, 0, 0x14], "ftypqt  ", [0, 0, 2, 0], "qt  "), "video/quicktime", "video"],
    ["M4A", bytes([0, 0, 0, 0x14], "ftypM4A ", [0, 0, 2, 0], "isom"), "audio/mp4", "audio"],
    ["AVIF", bytes([0, 0, 0, 0x14], "ftypavif", [0, 0, 0, 0], "mif1"), "image/avif", "image"],
    ["WebM", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], "webm"), "video/webm", "video"],
    ["MP3 with ID3", bytes("ID3", [4, 0, 0, 0, 0, 0, 0]), "audio/mpeg", "audio"],
    ["MP3 frame", bytes([0xff, 0xfb, 0x90, 0x64, 0, 0]), "audio/mpeg", "audio"],
    ["OGG", bytes("OggS", [0, 2], new Array(20).fill(0), "OpusHead"), "audio/ogg", "audio"],
    ["WAV", bytes("RIFF", [0, 0, 0, 0], "WAVEfmt "), "audio/wav", "audio"],
    ["FLAC", bytes("fLaC", [0, 0, 0, 0x22]), "audio/flac", "audio"],
  ])("recognizes %s", (_n, file, mime, kind) => {
    expect(sniff(file)).toMatchObject({ mime, kind });
  });

  it.each([
    ["text", bytes("hello, this is not an image")],
    ["SVG", bytes('<svg xmlns="http://www.w3.org/2000/svg"></svg>')],
    ["HTML", bytes("<!doctype html><script>alert(1)</script>")],
    ["PDF", bytes("%PDF-1.7")],
    ["Matroska that is not WebM", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], "matroska")],
    ["empty", new Uint8Array()],
  ])("refuses %s", (_n, file) => {
    expect(sniff(file)).toBeNull();
  });
});

describe("video size", () => {
  it.each([true, false])("reads the video track's size from moov (moov first: %s)", async (first) => {
    const file = mp4(1280, 720, first);
    expect(sniff(file)).toMatchObject({ mime: "video/mp4", kind: "video" });
    const reads: number[] = [];
    const size = await readMp4VideoSize(file.length, async (offset, length) => {
      reads.push(length);
      return file.slice(offset, offset + length);
    });
    expect(size).toEqual({ width: 1280, height: 720 });
    expect(Math.max(...reads)).toBeLessThan(500); // box headers and the moov box, never the media data
  });

  it("answers nothing for a file without moov or with broken boxes", async () => {
    const junk = Uint8Array.from([0, 0, 0, 4, 0x6d, 0x6f, 0x6f, 0x76, 0, 0, 0, 0, 0, 0, 0, 0]);
    const read = async (o: number, l: number) => junk.slice(o, o + l);
    expect(await readMp4VideoSize(junk.length, read)).toEqual({});
  });
});

describe("serving helpers", () => {
  it.each([
    ["bytes=0-9", { offset: 0, length: 10 }],
    ["bytes=90-", { offset: 90, length: 10 }],
    ["bytes=-5", { offset: 95, length: 5 }],
    ["bytes=95-200", { offset: 95, length: 5 }],
    ["bytes=100-", "invalid"],
    ["bytes=5-2", "invalid"],
    ["bytes=0-1,4-5", null],
    ["items=0-1", null],
  ])("parses Range %s of 100 bytes", (header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });

  it.each([
    ["media/123/original.png", true],
    ["profile/avatar-1.jpg", true],
    ["media/../secret.png", false],
    ["../x.png", false],
    ["media//x.png", false],
    ["/etc/passwd", false],
    ["media/1/original", false],
    ["imports/123.zip", false],
    ["imports/123/avatar.png", false],
    ["delivery/abc.json", false],
    ["inbox/abc.json", false],
  ])("key %s is servable: %s", (key, ok) => {
    expect(isMediaKey(key)).toBe(ok);
  });

  it("maps extensions back to types", () => {
    expect(mimeFromExtension("https://x.example/media/profile/avatar-1.webp")).toBe("image/webp");
    expect(mimeFromExtension("https://x.example/a")).toBeUndefined();
  });
});
