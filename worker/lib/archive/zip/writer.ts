/**
 * Writing a ZIP archive as a stream (Perch's own export): entries are added one after another from
 * streams, each stored or deflated through CompressionStream("deflate-raw"), with its CRC-32 and sizes
 * in a data descriptor after the data (so nothing is buffered or sought back), and a central directory
 * at the end. ZIP64 records are written where a size, offset or count needs them; an entry that may
 * pass 4 GiB must say so up front (`zip64: true`), since its local header is already written by then.
 *
 * Memory: the central directory is kept until `finish()`: about 100 bytes per entry plus its name.
 * Output goes to a ByteSink (sink.ts): a WritableStream, or an R2 multipart upload in ≥5 MiB parts.
 * Readers known to accept the output: this project's ZipReader, Python's zipfile, Info-ZIP unzip
 * (scripts/archive-zip-interop.mjs checks the last two).
 */
import { concat as join } from "../bytes";
import { crc32 } from "../crc32";
import { ArchiveError, tooLarge } from "../errors";
import { checkEntryName } from "../names";
import type { ByteSink } from "../sink";
import { MAX_U32, METHOD_DEFLATE, METHOD_STORED, toDosDateTime } from "./format";
import { centralRecord, dataDescriptor, endRecords, localHeader, type EntryRecord } from "./records";

export interface AddOptions {
  method?: "deflate" | "store";
  modified?: Date;
  /** Write ZIP64 local fields: required if the entry may reach 4 GiB. */
  zip64?: boolean;
}

type Written = EntryRecord;

const encoder = new TextEncoder();

export class ZipWriter {
  private offset = 0;
  private readonly written: Written[] = [];
  private busy = false;
  private done = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly options: { forceZip64?: boolean } = {},
  ) {}

  /** Adds one entry; names ending in "/" are directories (and must have no bytes). */
  async add(
    name: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: AddOptions = {},
  ): Promise<void> {
    if (this.busy || this.done)
      throw new ArchiveError("unsupported", "ZipWriter: add() while busy or finished");
    checkEntryName(name);
    this.busy = true;
    try {
      await this.addEntry(name, body, options);
    } finally {
      this.busy = false;
    }
  }

  private async addEntry(name: string, body: ReadableStream<Uint8Array> | Uint8Array, options: AddOptions) {
    const directory = name.endsWith("/");
    const method = directory || options.method === "store" ? METHOD_STORED : METHOD_DEFLATE;
    const zip64 = options.zip64 ?? this.options.forceZip64 ?? false;
    const nameBytes = encoder.encode(name);
    const dos = toDosDateTime(options.modified ?? new Date());
    const offset = this.offset;

    const header = localHeader(nameBytes, method, dos, zip64);
    await this.emit(header);

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
    if (directory && size > 0) throw new ArchiveError("unsupported", `directory entry ${name} has data`);
    if (!zip64 && (size >= MAX_U32 || compressedSize >= MAX_U32)) {
      throw tooLarge(`ZIP entry ${name} passed 4 GiB without zip64: true`);
    }

    const descriptor = dataDescriptor(crc, compressedSize, size, zip64);
    await this.emit(descriptor);
    this.written.push({ name: nameBytes, method, dos, crc, size, compressedSize, offset, zip64, directory });
  }

  /** Writes the central directory and end records and closes the sink. */
  async finish(): Promise<{ size: number; entries: number }> {
    if (this.busy || this.done)
      throw new ArchiveError("unsupported", "ZipWriter: finish() while busy or finished");
    this.done = true;
    const cdOffset = this.offset;
    let batch: Uint8Array[] = [];
    let batched = 0;
    for (const w of this.written) {
      const record = centralRecord(w);
      batch.push(record);
      batched += record.length;
      if (batched >= 64 * 1024) {
        await this.emit(join(batch, batched));
        batch = [];
        batched = 0;
      }
    }
    if (batched > 0) await this.emit(join(batch, batched));
    const cdSize = this.offset - cdOffset;
    const count = this.written.length;

    await this.emit(endRecords(count, cdOffset, cdSize, this.options.forceZip64));
    await this.sink.close();
    return { size: this.offset, entries: count };
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.offset += bytes.length;
    await this.sink.write(bytes);
  }
}
