import { fromBase64, toBase64 } from "./encoding";

/** RSA keys for HTTP signatures (RSASSA-PKCS1-v1_5 with SHA-256) and Ed25519 public keys, via WebCrypto. */
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

function pem(label: string, der: ArrayBuffer): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export async function generateRsaKeyPair(): Promise<{ publicKeyPem: string; privateKey: string }> {
  const pair = (await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const [spki, pkcs8] = await Promise.all([
    crypto.subtle.exportKey("spki", pair.publicKey) as Promise<ArrayBuffer>,
    crypto.subtle.exportKey("pkcs8", pair.privateKey) as Promise<ArrayBuffer>,
  ]);
  return { publicKeyPem: pem("PUBLIC KEY", spki), privateKey: toBase64(pkcs8) };
}

export function importRsaPrivateKey(pkcs8Base64: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", fromBase64(pkcs8Base64), RSA, false, ["sign"]);
}

/** DER length prefix. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return [0x80 | bytes.length, ...bytes];
}

/** Wraps a PKCS#1 RSAPublicKey in an SPKI structure (rsaEncryption, NULL parameters). */
function pkcs1ToSpki(pkcs1: Uint8Array): Uint8Array {
  const algorithm = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00, ...pkcs1];
  const body = [...algorithm, ...bitString];
  return new Uint8Array([0x30, ...derLength(body.length), ...body]);
}

/**
 * Imports a public key from PEM: SPKI ("PUBLIC KEY", RSA or Ed25519) or PKCS#1 ("RSA PUBLIC KEY").
 * Throws if it is neither.
 */
export async function importPublicKeyPem(text: string): Promise<CryptoKey> {
  const m = /-----BEGIN (RSA )?PUBLIC KEY-----([\s\S]+?)-----END (?:RSA )?PUBLIC KEY-----/.exec(text);
  if (!m) throw new Error("not a PEM public key");
  const der = fromBase64((m[2] as string).replace(/\s+/g, ""));
  if (m[1]) return crypto.subtle.importKey("spki", pkcs1ToSpki(der), RSA, false, ["verify"]);
  try {
    return await crypto.subtle.importKey("spki", der, RSA, false, ["verify"]);
  } catch {
    return crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
  }
}

export function importEd25519PublicKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

export function isEd25519(key: CryptoKey): boolean {
  return key.algorithm.name === "Ed25519" || key.algorithm.name === "NODE-ED25519";
}

export async function signBytes(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  const alg = isEd25519(key) ? { name: key.algorithm.name } : RSA;
  return new Uint8Array(await crypto.subtle.sign(alg, key, data));
}

export async function verifyBytes(key: CryptoKey, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  const alg = isEd25519(key) ? { name: key.algorithm.name } : RSA;
  try {
    return await crypto.subtle.verify(alg, key, signature, data);
  } catch {
    return false;
  }
}
