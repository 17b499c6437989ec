/**
 * A ZIP writer whose work spans many Worker invocations (Perch's archive export): each invocation
 * resumes it from a small JSON state, adds entries, and leaves a new state; the bytes go into one R2
 * multipart upload. Between invocations nothing lives in memory, so what a ZipWriter would hold is
 * kept in R2 and D1 instead:
 * - the parts uploaded so far, with their etags (the state, which the caller stores in D1);
 * - the bytes written since the last full part (under R2's 5 MiB minimum, so not yet a part) and the
 *   central directory records so far: one R2 object per state (`<prefix>/writer-<seq>.bin`), written
 *   anew by each checkpoint under the next seq, so the state the caller last stored always names an
 *   object that is still whole;
 * - an entry left open across invocations (`begin`/`append`/`end`): stored, with its CRC-32 carried
 *   on (crc32 continues from a number), since CompressionStream's state cannot be saved. Entries
 *   added whole within one invocation (`add`) may be deflated.
 *
 * Crash safety: an invocation that dies before its caller stores the new state left parts in R2
 * under part numbers the next attempt uploads again (R2 keeps the last upload of a part number) and
 * perhaps a state object the next attempt overwrites; the central records it made are in neither
 * the stored state nor its object, so no entry is ever listed twice.
 * https://developers.cloudflare.com/r2/api/workers/workers-multipart-usage/
 */
import { concat } from "../bytes";
import { crc32 } from "../crc32";
import { ArchiveError, tooLarge } from "../errors";
import { checkEntryName } from "../names";
import { MIN_PART_SIZE } from "../sink";
import { MAX_U32, METHOD_DEFLATE, METHOD_STORED, toDosDateTime } from "./format";
import { centralRecord, dataDescriptor, endRecords, localHeader } from "./records";

export interface OpenEntry {
  name: string;
  offset: number;
  crc: number;
  size: number;
  date: number;
  time: number;
}

export interface ResumableZipState {
  partSize: number;
  parts: { partNumber: number; etag: string }[];
  /** Bytes after the last part, at the start of the state object. */
  tail: number;
  /** Bytes of central directory records, after the tail in the state object. */
  central: number;
  entries: number;
  /** Names the state object; each checkpoint writes the next. */
  seq: number;
  open: OpenEntry | null;
}

export function newZipState(partSize = MIN_PART_SIZE): ResumableZipState {
  if (partSize < MIN_PART_SIZE)
    throw new ArchiveError("unsupported", `parts must be at least ${MIN_PART_SIZE} bytes`);
  return { partSize, parts: [], tail: 0, central: 0, entries: 0, seq: 0, open: null };
}

const encoder = new TextEncoder();

export class ResumableZip {
  private part: Uint8Array;
  private filled: number;
  private readonly parts: { partNumber: number; etag: string }[];
  private central: Uint8Array[];
  private centralBytes: number;
  private entries: number;
  private open: OpenEntry | null;
  private closed = false;
  /** Parts this invocation uploaded (each a subrequest). */
  uploads = 0;

  private constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    private readonly uploadId: string,
    private readonly prefix: string,
    private readonly state: ResumableZipState,
    saved: Uint8Array,
  ) {
    this.part = new Uint8Array(state.partSize);
    this.part.set(saved.subarray(0, state.tail));
    this.filled = state.tail;
    this.parts = [...state.parts];
    this.central = state.central > 0 ? [saved.slice(state.tail, state.tail + state.central)] : [];
    this.centralBytes = state.central;
    this.entries = state.entries;
    this.open = state.open ? { ...state.open } : null;
  }

  /** Picks up from `state` (reading its object: one subrequest when it holds anything). */
  static async resume(
    bucket: R2Bucket,
    target: { key: string; uploadId: string; prefix: string },
    state: ResumableZipState,
  ): Promise<ResumableZip> {
    let saved = new Uint8Array(0);
    if (state.tail + state.central > 0) {
      const object = await bucket.get(stateKey(target.prefix, state.seq));
      if (!object) throw new ArchiveError("source", `the export's writer state ${state.seq} is missing`);
      saved = new Uint8Array(await object.arrayBuffer());
      if (saved.length !== state.tail + state.central)
        throw new ArchiveError("source", `the export's writer state ${state.seq} has the wrong size`);
    }
    return new ResumableZip(bucket, target.key, target.uploadId, target.prefix, state, saved);
  }

  /** Bytes of the archive so far. */
  get offset(): number {
    return this.parts.length * this.state.partSize + this.filled;
  }

  get openEntry(): string | null {
    return this.open?.name ?? null;
  }

  /** Adds a whole entry now (stored, or deflated through CompressionStream). */
  async add(
    name: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: { method?: "deflate" | "store"; modified?: Date } = {},
  ): Promise<void> {
    this.check(name);
    const method = options.method === "store" ? METHOD_STORED : METHOD_DEFLATE;
    const nameBytes = encoder.encode(name);
    const dos = toDosDateTime(options.modified ?? new Date());
    const offset = this.offset;
    await this.emit(localHeader(nameBytes, method, dos, false));
    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    const input = body instanceof Uint8Array ? new Blob([body]).stream() : body;
    const counted = input.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          crc = crc32(chunk, crc);
          size += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    const data =
      method === METHOD_DEFLATE
        ? counted.pipeThrough(new CompressionStream("deflate-raw") as TransformStream<Uint8Array, Uint8Array>)
        : counted;
    const reader = data.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      compressedSize += value.length;
      await this.emit(value);
    }
    this.closeEntry(nameBytes, method, dos, crc, size, compressedSize, offset);
    await this.emit(dataDescriptor(crc, compressedSize, size, false));
  }

  /** Opens a stored entry that later invocations may go on appending to. */
  async begin(name: string, modified = new Date()): Promise<void> {
    this.check(name);
    const dos = toDosDateTime(modified);
    const offset = this.offset;
    await this.emit(localHeader(encoder.encode(name), METHOD_STORED, dos, false));
    this.open = { name, offset, crc: 0, size: 0, date: dos.date, time: dos.time };
  }

  async append(bytes: Uint8Array): Promise<void> {
    const open = this.open;
    if (!open || this.closed)
      throw new ArchiveError("unsupported", "ResumableZip: append() with no open entry");
    open.crc = crc32(bytes, open.crc);
    open.size += bytes.length;
    if (open.size >= MAX_U32) throw tooLarge(`ZIP entry ${open.name} passed 4 GiB`);
    await this.emit(bytes);
  }

  async end(): Promise<void> {
    const open = this.open;
    if (!open) throw new ArchiveError("unsupported", "ResumableZip: end() with no open entry");
    this.open = null;
    const dos = { date: open.date, time: open.time };
    this.closeEntry(
      encoder.encode(open.name),
      METHOD_STORED,
      dos,
      open.crc,
      open.size,
      open.size,
      open.offset,
    );
    await this.emit(dataDescriptor(open.crc, open.size, open.size, false));
  }

  /**
   * Saves what this invocation wrote: the tail and central records under the next seq. The caller
   * stores the state returned (in D1), then `forget`s the previous one.
   */
  async checkpoint(): Promise<ResumableZipState> {
    if (this.closed) throw new ArchiveError("unsupported", "ResumableZip: checkpoint() after finish()");
    const seq = this.state.seq + 1;
    const central = concat(this.central, this.centralBytes);
    this.central = [central];
    const saved = concat([this.part.subarray(0, this.filled), central]);
    if (saved.length > 0) await this.bucket.put(stateKey(this.prefix, seq), saved);
    return {
      partSize: this.state.partSize,
      parts: [...this.parts],
      tail: this.filled,
      central: this.centralBytes,
      entries: this.entries,
      seq,
      open: this.open ? { ...this.open } : null,
    };
  }

  /** Writes the central directory and end records, and completes the upload. */
  async finish(): Promise<{ size: number; entries: number; object: R2Object }> {
    if (this.open) throw new ArchiveError("unsupported", `ResumableZip: ${this.open.name} is still open`);
    if (this.closed) throw new ArchiveError("unsupported", "ResumableZip: finish() twice");
    this.closed = true;
    const cdOffset = this.offset;
    const central = concat(this.central, this.centralBytes);
    await this.emit(central);
    await this.emit(endRecords(this.entries, cdOffset, central.length, false));
    const size = this.offset;
    if (this.filled > 0 || this.parts.length === 0) await this.uploadPart(this.part.slice(0, this.filled));
    const upload = this.bucket.resumeMultipartUpload(this.key, this.uploadId);
    const object = await upload.complete(this.parts);
    return { size, entries: this.entries, object };
  }

  private check(name: string): void {
    if (this.open || this.closed)
      throw new ArchiveError("unsupported", "ResumableZip: an entry is open, or the archive is finished");
    checkEntryName(name);
  }

  private closeEntry(
    name: Uint8Array,
    method: number,
    dos: { date: number; time: number },
    crc: number,
    size: number,
    compressedSize: number,
    offset: number,
  ): void {
    if (size >= MAX_U32 || compressedSize >= MAX_U32) throw tooLarge("a ZIP entry passed 4 GiB");
    const record = centralRecord({
      name,
      method,
      dos,
      crc,
      size,
      compressedSize,
      offset,
      zip64: false,
      directory: false,
    });
    this.central.push(record);
    this.centralBytes += record.length;
    this.entries += 1;
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    const partSize = this.state.partSize;
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(bytes.length - at, partSize - this.filled);
      this.part.set(bytes.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === partSize) {
        await this.uploadPart(this.part);
        this.part = new Uint8Array(partSize);
        this.filled = 0;
      }
    }
  }

  private async uploadPart(bytes: Uint8Array): Promise<void> {
    const partNumber = this.parts.length + 1;
    const upload = this.bucket.resumeMultipartUpload(this.key, this.uploadId);
    const part = await upload.uploadPart(partNumber, bytes);
    this.parts.push({ partNumber, etag: part.etag });
    this.uploads += 1;
  }
}

export function stateKey(prefix: string, seq: number): string {
  return `${prefix}/writer-${seq}.bin`;
}

/** Removes a state's object once a later state has been stored (nothing to do when it was empty). */
export async function forgetState(bucket: R2Bucket, prefix: string, state: ResumableZipState): Promise<void> {
  if (state.tail + state.central > 0) await bucket.delete(stateKey(prefix, state.seq));
}
