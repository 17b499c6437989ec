/**
 * Base64 (RFC 4648, with padding) for checkpoints kept as JSON in D1: table-driven, because building a
 * binary string for btoa/atob costs milliseconds for a 33 KB walker checkpoint, a third of a Free-plan
 * invocation, where this takes a fraction of one.
 */
import { badCheckpoint } from "./errors";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ENCODE[i] as number] = i;
const latin1 = new TextDecoder("latin1");

export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = ENCODE[(n >>> 6) & 63] as number;
    out[o++] = ENCODE[n & 63] as number;
  }
  const left = bytes.length - i;
  if (left > 0) {
    const n = ((bytes[i] as number) << 16) | (left === 2 ? (bytes[i + 1] as number) << 8 : 0);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = left === 2 ? (ENCODE[(n >>> 6) & 63] as number) : 0x3d;
    out[o++] = 0x3d;
  }
  return latin1.decode(out);
}

export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw badCheckpoint("base64 of a length not a multiple of 4");
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = DECODE[text.charCodeAt(i) & 0xff] as number;
    const b = DECODE[text.charCodeAt(i + 1) & 0xff] as number;
    const last = i + 4 === text.length;
    const c = last && pad === 2 ? 0 : (DECODE[text.charCodeAt(i + 2) & 0xff] as number);
    const d = last && pad >= 1 ? 0 : (DECODE[text.charCodeAt(i + 3) & 0xff] as number);
    if ((a | b | c | d) < 0 || text.charCodeAt(i) > 0xff) throw badCheckpoint("not base64");
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
