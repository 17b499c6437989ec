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
import { concat as join, putU16, putU32, putU64 } from "../bytes";
import { crc32 } from "../crc32";
import { ArchiveError, tooLarge } from "../errors";
import { checkEntryName } from "../names";
import type { ByteSink } from "../sink";
import {
  CENTRAL_SIZE,
  EOCD64_SIZE,
  EOCD_SIZE,
  EXTRA_ZIP64,
  FLAG_DESCRIPTOR,
  FLAG_UTF8,
  LOCAL_SIZE,
  LOCATOR64_SIZE,
  MAX_U16,
  MAX_U32,
  METHOD_DEFLATE,
  METHOD_STORED,
  SIG_CENTRAL,
  SIG_DESCRIPTOR,
  SIG_EOCD,
  SIG_EOCD64,
  SIG_LOCAL,
  SIG_LOCATOR64,
  toDosDateTime,
} from "./format";

export interface AddOptions {
  method?: "deflate" | "store";
  modified?: Date;
  /** Write ZIP64 local fields: required if the entry may reach 4 GiB. */
  zip64?: boolean;
}

/** A written entry, as its central directory record needs it (the export keeps these across chunks). */
export interface Written {
  name: Uint8Array;
  method: number;
  dos: { date: number; time: number };
  crc: number;
  size: number;
  compressedSize: number;
  offset: number;
  zip64: boolean;
  directory: boolean;
}

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

    const descriptor = dataDescriptor(crc, size, compressedSize, zip64);
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

    await this.emit(endRecords(count, cdOffset, cdSize, this.options.forceZip64 ?? false));
    await this.sink.close();
    return { size: this.offset, entries: count };
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.offset += bytes.length;
    await this.sink.write(bytes);
  }
}

/** The central directory record of a written entry. */
export function centralRecord(w: Written): Uint8Array {
  const bigSizes = w.zip64 || w.size >= MAX_U32 || w.compressedSize >= MAX_U32;
  const bigOffset = w.offset >= MAX_U32;
  const extraLength = bigSizes || bigOffset ? 4 + (bigSizes ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
  const r = new Uint8Array(CENTRAL_SIZE + w.name.length + extraLength);
  putU32(r, 0, SIG_CENTRAL);
  putU16(r, 4, (3 << 8) | 45); // made by: Unix, spec 4.5
  putU16(r, 6, extraLength ? 45 : 20);
  putU16(r, 8, FLAG_DESCRIPTOR | FLAG_UTF8);
  putU16(r, 10, w.method);
  putU16(r, 12, w.dos.time);
  putU16(r, 14, w.dos.date);
  putU32(r, 16, w.crc);
  putU32(r, 20, bigSizes ? MAX_U32 : w.compressedSize);
  putU32(r, 24, bigSizes ? MAX_U32 : w.size);
  putU16(r, 28, w.name.length);
  putU16(r, 30, extraLength);
  // Unix mode in the high half: rw-r--r-- files, rwxr-xr-x directories (plus the DOS directory bit).
  putU32(r, 38, w.directory ? ((0o40755 << 16) | 0x10) >>> 0 : (0o100644 << 16) >>> 0);
  putU32(r, 42, bigOffset ? MAX_U32 : w.offset);
  r.set(w.name, CENTRAL_SIZE);
  if (extraLength) {
    let at = CENTRAL_SIZE + w.name.length;
    putU16(r, at, EXTRA_ZIP64);
    putU16(r, at + 2, extraLength - 4);
    at += 4;
    if (bigSizes) {
      putU64(r, at, w.size);
      putU64(r, at + 8, w.compressedSize);
      at += 16;
    }
    if (bigOffset) putU64(r, at, w.offset);
  }
  return r;
}

/** An entry's local header: CRC and sizes follow in the data descriptor (ZIP64 headers mark the sizes). */
export function localHeader(
  nameBytes: Uint8Array,
  method: number,
  dos: { date: number; time: number },
  zip64: boolean,
): Uint8Array {
  const header = new Uint8Array(LOCAL_SIZE + nameBytes.length + (zip64 ? 20 : 0));
  putU32(header, 0, SIG_LOCAL);
  putU16(header, 4, zip64 ? 45 : 20);
  putU16(header, 6, FLAG_DESCRIPTOR | FLAG_UTF8);
  putU16(header, 8, method);
  putU16(header, 10, dos.time);
  putU16(header, 12, dos.date);
  if (zip64) {
    putU32(header, 18, MAX_U32);
    putU32(header, 22, MAX_U32);
  }
  putU16(header, 26, nameBytes.length);
  putU16(header, 28, zip64 ? 20 : 0);
  header.set(nameBytes, LOCAL_SIZE);
  if (zip64) {
    putU16(header, LOCAL_SIZE + nameBytes.length, EXTRA_ZIP64);
    putU16(header, LOCAL_SIZE + nameBytes.length + 2, 16);
  }
  return header;
}

/** The data descriptor after an entry's data. */
export function dataDescriptor(
  crc: number,
  size: number,
  compressedSize: number,
  zip64: boolean,
): Uint8Array {
  const descriptor = new Uint8Array(zip64 ? 24 : 16);
  putU32(descriptor, 0, SIG_DESCRIPTOR);
  putU32(descriptor, 4, crc);
  if (zip64) {
    putU64(descriptor, 8, compressedSize);
    putU64(descriptor, 16, size);
  } else {
    putU32(descriptor, 8, compressedSize);
    putU32(descriptor, 12, size);
  }
  return descriptor;
}

/** The end records after a central directory of `count` entries (ZIP64 ones where needed). */
export function endRecords(count: number, cdOffset: number, cdSize: number, forceZip64: boolean): Uint8Array {
  const zip64End = forceZip64 || count >= MAX_U16 || cdOffset >= MAX_U32 || cdSize >= MAX_U32;
  const out = new Uint8Array((zip64End ? EOCD64_SIZE + LOCATOR64_SIZE : 0) + EOCD_SIZE);
  if (zip64End) {
    const end64 = out;
    putU32(end64, 0, SIG_EOCD64);
    putU64(end64, 4, EOCD64_SIZE - 12);
    putU16(end64, 12, (3 << 8) | 45);
    putU16(end64, 14, 45);
    putU64(end64, 24, count);
    putU64(end64, 32, count);
    putU64(end64, 40, cdSize);
    putU64(end64, 48, cdOffset);
    putU32(end64, EOCD64_SIZE, SIG_LOCATOR64);
    putU64(end64, EOCD64_SIZE + 8, cdOffset + cdSize);
    putU32(end64, EOCD64_SIZE + 16, 1);
  }
  const end = out.subarray(zip64End ? EOCD64_SIZE + LOCATOR64_SIZE : 0);
  putU32(end, 0, SIG_EOCD);
  putU16(end, 8, zip64End ? MAX_U16 : count);
  putU16(end, 10, zip64End ? MAX_U16 : count);
  putU32(end, 12, zip64End ? MAX_U32 : cdSize);
  putU32(end, 16, zip64End ? MAX_U32 : cdOffset);
  return out;
}
