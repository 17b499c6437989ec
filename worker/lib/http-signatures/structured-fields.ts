/**
 * The part of RFC 8941 structured fields that RFC 9421 needs: a Dictionary whose members are Items or
 * Inner Lists, with Parameters. Each member keeps its raw text, because the signature base must repeat
 * the `Signature-Input` value exactly as sent.
 */
export type BareItem = string | number | boolean | Uint8Array | { token: string };
export interface Item {
  value: BareItem;
  params: Map<string, BareItem>;
}
export interface InnerList {
  items: Item[];
  params: Map<string, BareItem>;
}
export interface Member {
  value: Item | InnerList;
  raw: string;
}

export class StructuredFieldError extends Error {}

export function parseDictionary(input: string): Map<string, Member> {
  const p = new Parser(input);
  const out = new Map<string, Member>();
  p.skipSpaces();
  while (!p.done()) {
    const key = p.key();
    let value: Item | InnerList;
    const start = p.pos + 1;
    if (p.peek() === "=") {
      p.pos++;
      value = p.peek() === "(" ? p.innerList() : p.item();
    } else {
      value = { value: true, params: p.params() };
    }
    out.set(key, { value, raw: input.slice(start, p.pos) });
    p.skipOws();
    if (p.done()) break;
    p.expect(",");
    p.skipOws();
    if (p.done()) throw new StructuredFieldError("trailing comma");
  }
  return out;
}

export function isInnerList(v: Item | InnerList): v is InnerList {
  return "items" in v;
}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}
  done() {
    return this.pos >= this.s.length;
  }
  peek() {
    return this.s[this.pos];
  }
  expect(c: string) {
    if (this.s[this.pos] !== c) throw new StructuredFieldError(`expected ${c} at ${this.pos}`);
    this.pos++;
  }
  skipSpaces() {
    while (this.s[this.pos] === " ") this.pos++;
  }
  skipOws() {
    while (this.s[this.pos] === " " || this.s[this.pos] === "\t") this.pos++;
  }
  key(): string {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.pos));
    if (!m) throw new StructuredFieldError(`expected a key at ${this.pos}`);
    this.pos += m[0].length;
    return m[0];
  }
  params(): Map<string, BareItem> {
    const params = new Map<string, BareItem>();
    while (this.peek() === ";") {
      this.pos++;
      this.skipSpaces();
      const k = this.key();
      let v: BareItem = true;
      if (this.peek() === "=") {
        this.pos++;
        v = this.bareItem();
      }
      params.set(k, v);
    }
    return params;
  }
  item(): Item {
    const value = this.bareItem();
    return { value, params: this.params() };
  }
  innerList(): InnerList {
    this.expect("(");
    const items: Item[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.peek() === ")") {
        this.pos++;
        return { items, params: this.params() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== " " && c !== ")") throw new StructuredFieldError(`bad inner list at ${this.pos}`);
    }
  }
  bareItem(): BareItem {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === ":") return this.bytes();
    if (c === "?") {
      const b = this.s[this.pos + 1];
      if (b !== "0" && b !== "1") throw new StructuredFieldError("bad boolean");
      this.pos += 2;
      return b === "1";
    }
    if (c !== undefined && /[-0-9]/.test(c)) return this.number();
    if (c !== undefined && /[A-Za-z*]/.test(c)) {
      const m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.s.slice(this.pos)) as RegExpExecArray;
      this.pos += m[0].length;
      return { token: m[0] };
    }
    throw new StructuredFieldError(`unexpected ${c ?? "end"} at ${this.pos}`);
  }
  string(): string {
    this.expect('"');
    let out = "";
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined) throw new StructuredFieldError("unterminated string");
      if (c === '"') return out;
      if (c === "\\") {
        const n = this.s[this.pos++];
        if (n !== '"' && n !== "\\") throw new StructuredFieldError("bad escape");
        out += n;
      } else if (c < " " || c > "~") {
        throw new StructuredFieldError("bad character in string");
      } else out += c;
    }
  }
  bytes(): Uint8Array {
    this.expect(":");
    const end = this.s.indexOf(":", this.pos);
    if (end < 0) throw new StructuredFieldError("unterminated byte sequence");
    const b64 = this.s.slice(this.pos, end);
    this.pos = end + 1;
    if (!/^[A-Za-z0-9+/=]*$/.test(b64)) throw new StructuredFieldError("bad base64");
    try {
      return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    } catch {
      throw new StructuredFieldError("bad base64");
    }
  }
  number(): number {
    const m = /^-?\d{1,15}(\.\d{1,3})?/.exec(this.s.slice(this.pos));
    if (!m) throw new StructuredFieldError("bad number");
    this.pos += m[0].length;
    return Number(m[0]);
  }
}
