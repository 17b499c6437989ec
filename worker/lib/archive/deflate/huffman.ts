/**
 * DEFLATE's canonical Huffman codes (RFC 1951 §3.2.2) as single-level lookup tables: a table of
 * 2^maxLength entries is indexed by the next `maxLength` input bits (least significant first, as the
 * stream packs them) and holds `symbol << 4 | length`, or 0 where no code starts with those bits.
 *
 * A set of lengths that claims more codes than fit (over-subscribed) is refused. An incomplete set is
 * refused too, except where zlib accepts one: a distance code of a single length-1 code, or no distance
 * codes at all (a block of literals only); its missing codes stay 0 in the table, and decoding one
 * fails then. https://www.rfc-editor.org/rfc/rfc1951#section-3.2.2
 */
import { corrupt } from "../errors";

export interface HuffmanTable {
  readonly entries: Uint16Array;
  /** Bits to look up: the longest code's length (at least 1). */
  readonly bits: number;
}

export const MAX_BITS = 15;

/** `code` of `length` bits with its bit order reversed: Huffman codes are packed first bit first. */
function reverse(code: number, length: number): number {
  let r = 0;
  for (let i = 0; i < length; i++) {
    r = (r << 1) | (code & 1);
    code >>>= 1;
  }
  return r;
}

/**
 * The table for `lengths[0..count)`. `what` names the code in errors; `allowIncomplete` is for distance
 * codes (see the file comment).
 */
export function buildTable(
  lengths: Uint8Array,
  count: number,
  what: string,
  allowIncomplete = false,
): HuffmanTable {
  const perLength = new Uint16Array(MAX_BITS + 1);
  let longest = 0;
  for (let s = 0; s < count; s++) {
    const l = lengths[s] as number;
    perLength[l] = (perLength[l] as number) + 1;
    if (l > longest) longest = l;
  }
  const used = count - (perLength[0] as number);
  perLength[0] = 0;
  let left = 1;
  for (let l = 1; l <= MAX_BITS; l++) {
    left = (left << 1) - (perLength[l] as number);
    if (left < 0) throw corrupt(`deflate: over-subscribed ${what} code lengths`);
  }
  if (left > 0 && !(allowIncomplete && (used === 0 || (used === 1 && longest === 1)))) {
    throw corrupt(`deflate: incomplete ${what} code lengths`);
  }

  const bits = Math.max(longest, 1);
  const entries = new Uint16Array(1 << bits);
  const next = new Uint16Array(MAX_BITS + 2);
  for (let l = 1, code = 0; l <= MAX_BITS; l++) {
    code = (code + (perLength[l - 1] as number)) << 1;
    next[l] = code;
  }
  for (let s = 0; s < count; s++) {
    const l = lengths[s] as number;
    if (l === 0) continue;
    const code = next[l] as number;
    next[l] = code + 1;
    const entry = (s << 4) | l;
    for (let i = reverse(code, l); i < entries.length; i += 1 << l) entries[i] = entry;
  }
  return { entries, bits };
}

function fixedLengths(): { literals: Uint8Array; distances: Uint8Array } {
  const literals = new Uint8Array(288);
  literals.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  // 32 distance codes make the set complete; 30 and 31 never occur in valid data (decoding refuses them).
  return { literals, distances: new Uint8Array(32).fill(5) };
}

let fixed: { literals: HuffmanTable; distances: HuffmanTable } | null = null;

/** The fixed codes of block type 1 (§3.2.6), built once. */
export function fixedTables(): { literals: HuffmanTable; distances: HuffmanTable } {
  if (!fixed) {
    const { literals, distances } = fixedLengths();
    fixed = {
      literals: buildTable(literals, 288, "fixed literal/length"),
      distances: buildTable(distances, 32, "fixed distance"),
    };
  }
  return fixed;
}
