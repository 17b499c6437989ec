import { getPublicKeyAsync, utils } from "@noble/ed25519";

/**
 * Multikey encoding of Ed25519 keys (FEP-521a, W3C Controlled Identifiers §2.2.2 "Multikey"):
 * "z" (multibase base58btc) + base58btc(multicodec varint prefix || raw key bytes).
 *
 * - ed25519-pub (0xed) is the varint 0xed 0x01, so public keys read "z6Mk…";
 * - ed25519-priv (0x1300) is the varint 0x80 0x26, so private keys (32-byte seeds) read "z3u2…".
 */
const ED25519_PUB = [0xed, 0x01] as const;
const ED25519_PRIV = [0x80, 0x26] as const;
const ED25519_KEY_LENGTH = 32;

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHABET_INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** base58btc, Bitcoin alphabet; leading zero bytes become leading "1"s. */
export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // Little-endian base-58 digits, updated byte by byte (digits[i] * 256 + carry).
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] as number;
    for (let j = 0; j < digits.length; j++) {
      carry += (digits[j] as number) * 256;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = "1".repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] as number];
  return out;
}

/** Inverse of {@link base58btcEncode}; throws on characters outside the alphabet. */
export function base58btcDecode(text: string): Uint8Array {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const bytes: number[] = []; // little-endian
  for (let i = zeros; i < text.length; i++) {
    const value = ALPHABET_INDEX.get(text[i] as string);
    if (value === undefined) throw new Error("invalid base58btc character");
    let carry = value;
    for (let j = 0; j < bytes.length; j++) {
      carry += (bytes[j] as number) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i] as number;
  return out;
}

/** Multibase with the base58btc ("z") prefix, the only base Multikey and proofValue use. */
export function encodeMultibase(bytes: Uint8Array): string {
  return `z${base58btcEncode(bytes)}`;
}

/** Decodes a base58btc multibase string ("z…"); throws on any other base or invalid characters. */
export function decodeMultibase(multibase: string): Uint8Array {
  if (!multibase.startsWith("z")) throw new Error("not a base58btc multibase string");
  return base58btcDecode(multibase.slice(1));
}

function encodeKey(prefix: readonly number[], raw: Uint8Array): string {
  if (raw.length !== ED25519_KEY_LENGTH) throw new Error(`an Ed25519 key is ${ED25519_KEY_LENGTH} bytes`);
  const bytes = new Uint8Array(prefix.length + raw.length);
  bytes.set(prefix);
  bytes.set(raw, prefix.length);
  return encodeMultibase(bytes);
}

function decodeKey(prefix: readonly number[], multibase: string, what: string): Uint8Array {
  const bytes = decodeMultibase(multibase);
  if (bytes.length !== prefix.length + ED25519_KEY_LENGTH || prefix.some((b, i) => bytes[i] !== b)) {
    throw new Error(`not an ${what} multikey`);
  }
  return bytes.slice(prefix.length);
}

export function encodeEd25519PublicKey(raw: Uint8Array): string {
  return encodeKey(ED25519_PUB, raw);
}

export function decodeEd25519PublicKey(multibase: string): Uint8Array {
  return decodeKey(ED25519_PUB, multibase, "Ed25519 public");
}

/** The private key is the 32-byte RFC 8032 seed. */
export function encodeEd25519PrivateKey(raw: Uint8Array): string {
  return encodeKey(ED25519_PRIV, raw);
}

export function decodeEd25519PrivateKey(multibase: string): Uint8Array {
  return decodeKey(ED25519_PRIV, multibase, "Ed25519 private");
}

export async function generateEd25519KeyPair(): Promise<{
  publicKeyMultibase: string;
  privateKeyMultibase: string;
}> {
  const secret = utils.randomSecretKey();
  const publicKey = await getPublicKeyAsync(secret);
  return {
    publicKeyMultibase: encodeEd25519PublicKey(publicKey),
    privateKeyMultibase: encodeEd25519PrivateKey(secret),
  };
}
