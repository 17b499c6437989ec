/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - Object members are sorted by their names compared as arrays of UTF-16 code units (RFC 8785 §3.2.3),
 *   recursively; arrays keep their order.
 * - Numbers use the ECMAScript Number-to-String algorithm (§3.2.2.3), which is exactly what `String(n)`
 *   does; so `-0` becomes `0`, `1e21` stays `1e+21`, and non-finite numbers are rejected.
 * - Strings are escaped the way `JSON.stringify` does it (§3.2.2.2); strings with lone surrogates are
 *   rejected, since the input must be I-JSON (§3.1).
 * - No whitespace.
 *
 * Input must be plain JSON data (what `JSON.parse` produces): members whose value is `undefined` are
 * skipped as `JSON.stringify` would; any other non-JSON value throws.
 */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

/** UTF-8 bytes of the canonical form: what gets hashed. */
export function canonicalizeToBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // with the u flag, this only matches unpaired halves

function writeString(s: string, out: string[]): void {
  if (LONE_SURROGATE.test(s)) throw new TypeError("JCS: string contains a lone surrogate");
  out.push(JSON.stringify(s));
}

/** Compares by UTF-16 code units; `<` on JS strings does exactly that, independent of locale. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`JCS: cannot serialize ${value}`);
      out.push(String(value)); // ECMAScript Number::toString; String(-0) === "0"
      return;
    case "string":
      writeString(value, out);
      return;
    case "object":
      break;
    default:
      throw new TypeError(`JCS: cannot serialize a value of type ${typeof value}`);
  }
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item: unknown, i) => {
      if (i > 0) out.push(",");
      if (item === undefined) throw new TypeError("JCS: undefined array element");
      write(item, out);
    });
    out.push("]");
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError("JCS: only plain objects can be serialized");
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort(compareCodeUnits);
  out.push("{");
  keys.forEach((key, i) => {
    if (i > 0) out.push(",");
    writeString(key, out);
    out.push(":");
    write(record[key], out);
  });
  out.push("}");
}
