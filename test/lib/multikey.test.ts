import { getPublicKeyAsync } from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import {
  base58btcDecode,
  base58btcEncode,
  decodeEd25519PrivateKey,
  decodeEd25519PublicKey,
  decodeMultibase,
  encodeEd25519PrivateKey,
  encodeEd25519PublicKey,
  generateEd25519KeyPair,
} from "../../worker/lib/multikey";
import fep521a from "../fixtures/vectors/fep-521a.json";
import fep8b32 from "../fixtures/vectors/fep-8b32.json";

const hex = (h: string) => new Uint8Array((h.match(/../g) ?? []).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

interface KeyVector {
  type: string;
  multicodec_prefix: string;
  public_key_multibase: string;
  raw_public_key_hex?: string;
  pkcs1_der_hex?: string;
}
const keys: KeyVector[] = fep521a.keys;
const ed25519Vector = keys.find((k) => k.type === "Ed25519");
const rsaVector = keys.find((k) => k.type === "RSA");

describe("base58btc", () => {
  it("encodes the usual test strings", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(base58btcEncode(text("Hello World!"))).toBe("2NEpo7TZRRrLZSi2U");
    expect(base58btcEncode(text("The quick brown fox jumps over the lazy dog."))).toBe(
      "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
    );
    expect(base58btcEncode(hex("0000287fb4cd"))).toBe("11233QC4");
    expect(base58btcEncode(new Uint8Array())).toBe("");
    expect(base58btcEncode(hex("00"))).toBe("1");
  });

  it("round-trips, keeping leading zero bytes", () => {
    for (const h of ["", "00", "0000", "000001", "ff", "00ff00", "0102030405060708090a0b0c0d0e0f10"]) {
      expect(toHex(base58btcDecode(base58btcEncode(hex(h)))), h).toBe(h);
    }
    const random = crypto.getRandomValues(new Uint8Array(200));
    expect(base58btcDecode(base58btcEncode(random))).toEqual(random);
  });

  it("rejects characters outside the alphabet", () => {
    for (const bad of ["0", "O", "I", "l", "+", " z", "é"]) expect(() => base58btcDecode(bad)).toThrow();
  });
});

describe("Multikey (FEP-521a)", () => {
  it("encodes the FEP-521a Ed25519 vector", () => {
    if (!ed25519Vector?.raw_public_key_hex) throw new Error("vector missing");
    expect(ed25519Vector.multicodec_prefix).toBe("0xed01");
    const raw = hex(ed25519Vector.raw_public_key_hex);
    expect(encodeEd25519PublicKey(raw)).toBe(ed25519Vector.public_key_multibase);
    expect(toHex(decodeEd25519PublicKey(ed25519Vector.public_key_multibase))).toBe(
      ed25519Vector.raw_public_key_hex,
    );
  });

  it("decodes the FEP-521a RSA vector to its multicodec prefix and PKCS#1 key, and rejects it as Ed25519", () => {
    if (!rsaVector?.pkcs1_der_hex) throw new Error("vector missing");
    expect(rsaVector.multicodec_prefix).toBe("0x8524"); // varint of rsa-pub (0x1205)
    const bytes = decodeMultibase(rsaVector.public_key_multibase);
    expect(toHex(bytes.slice(0, 2))).toBe("8524");
    expect(toHex(bytes.slice(2))).toBe(rsaVector.pkcs1_der_hex);
    expect(() => decodeEd25519PublicKey(rsaVector.public_key_multibase)).toThrow();
  });

  it("decodes the FEP-8b32 key pair, and the secret key derives the public key", async () => {
    const secret = decodeEd25519PrivateKey(fep8b32.secret_key_multibase);
    expect(secret.length).toBe(32);
    expect(encodeEd25519PrivateKey(secret)).toBe(fep8b32.secret_key_multibase);
    expect(fep8b32.secret_key_multibase.startsWith("z3u2")).toBe(true);
    const publicKey = await getPublicKeyAsync(secret);
    expect(encodeEd25519PublicKey(publicKey)).toBe(fep8b32.public_key_multibase);
  });

  it("generates key pairs that round-trip", async () => {
    const pair = await generateEd25519KeyPair();
    expect(pair.publicKeyMultibase).toMatch(/^z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
    expect(pair.privateKeyMultibase).toMatch(/^z3u2[1-9A-HJ-NP-Za-km-z]+$/);
    const secret = decodeEd25519PrivateKey(pair.privateKeyMultibase);
    expect(decodeEd25519PublicKey(pair.publicKeyMultibase)).toEqual(await getPublicKeyAsync(secret));
    const other = await generateEd25519KeyPair();
    expect(other.privateKeyMultibase).not.toBe(pair.privateKeyMultibase);
  });

  it("rejects wrong prefixes, lengths and bases", () => {
    const pub = fep8b32.public_key_multibase;
    const priv = fep8b32.secret_key_multibase;
    expect(() => decodeEd25519PrivateKey(pub)).toThrow(); // public where private expected
    expect(() => decodeEd25519PublicKey(priv)).toThrow(); // and the reverse
    expect(() => decodeEd25519PublicKey(pub.slice(1))).toThrow(); // no multibase prefix
    expect(() => decodeEd25519PublicKey(`u${pub.slice(1)}`)).toThrow(); // another base
    expect(() => decodeEd25519PublicKey(pub.slice(0, -1))).toThrow(); // truncated
    expect(() => decodeEd25519PublicKey(`${pub}1`)).toThrow(); // too long
    expect(() => decodeEd25519PublicKey("")).toThrow();
    expect(() => decodeEd25519PublicKey("z")).toThrow();
    expect(() => encodeEd25519PublicKey(new Uint8Array(31))).toThrow();
    expect(() => encodeEd25519PrivateKey(new Uint8Array(64))).toThrow();
  });
});
