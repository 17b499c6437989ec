/**
 * Sequential reads of exact lengths over a stream of chunks, holding at most one chunk plus what was
 * asked for: the tar reader's view of its (gunzipped) input.
 */
import { concat } from "./bytes";
import { truncated } from "./errors";

export class ByteReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private ended = false;
  /** Bytes handed out or skipped so far. */
  position = 0;

  constructor(private readonly pull: () => Promise<Uint8Array | null>) {}

  static fromStream(stream: ReadableStream<Uint8Array>): { bytes: ByteReader; cancel: () => Promise<void> } {
    const reader = stream.getReader();
    const bytes = new ByteReader(async () => {
      const { done, value } = await reader.read();
      return done ? null : value;
    });
    return { bytes, cancel: () => reader.cancel().catch(() => {}) };
  }

  private async fill(): Promise<boolean> {
    while (this.buffer.length === 0) {
      if (this.ended) return false;
      const next = await this.pull();
      if (next === null) this.ended = true;
      else this.buffer = next;
    }
    return true;
  }

  /** Exactly `n` bytes; null if the input ends before the first of them; truncated if it ends inside. */
  async exactly(n: number, what: string): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      if (!(await this.fill())) {
        if (have === 0) return null;
        throw truncated(what);
      }
      const take = this.buffer.subarray(0, n - have);
      this.buffer = this.buffer.subarray(take.length);
      parts.push(take);
      have += take.length;
    }
    this.position += n;
    return parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts, n);
  }

  /** Between 1 and `n` bytes (whatever the current chunk holds); truncated if the input has ended. */
  async upTo(n: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) throw truncated(what);
    const take = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(take.length);
    this.position += take.length;
    return take;
  }

  /** Skips whatever is left of the input; returns how many bytes that was. */
  async skipToEnd(): Promise<number> {
    let n = 0;
    while (await this.fill()) {
      n += this.buffer.length;
      this.position += this.buffer.length;
      this.buffer = new Uint8Array(0);
    }
    return n;
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.upTo(left, what)).length;
  }
}
