/** Little-endian field access for binary headers, with 64-bit values kept within safe integers. */
import { tooLarge } from "./errors";

export const u16 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) | ((b[at + 1] as number) << 8)) >>> 0;

export const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) |
    ((b[at + 1] as number) << 8) |
    ((b[at + 2] as number) << 16) |
    ((b[at + 3] as number) << 24)) >>>
  0;

/** A 64-bit field; values past 2^53 (8 PB) cannot be a real offset or size here. */
export function u64(b: Uint8Array, at: number, what: string): number {
  const value = u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
  if (!Number.isSafeInteger(value)) throw tooLarge(`${what} does not fit in 2^53`);
  return value;
}

export function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

export function putU64(b: Uint8Array, at: number, v: number): void {
  putU32(b, at, v % 0x1_0000_0000);
  putU32(b, at + 4, Math.floor(v / 0x1_0000_0000));
}

export function concat(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
