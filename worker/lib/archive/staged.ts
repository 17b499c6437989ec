/**
 * An R2 object written across many invocations, each adding a little: the tar.gz import's ZIP, built
 * from pieces of ~256 KB (what one invocation can inflate on the Free plan's ~10 ms of CPU), while R2's
 * multipart parts must all be one size of at least 5 MiB, the last excepted.
 *
 * So the bytes are staged: each append goes to a small R2 object of its own (a segment), and once the
 * segments hold the next part's 5 MiB, one invocation uploads it by piping ranged gets of those
 * segments into the part (a FixedLengthStream fed from R2 bodies: the bytes pass natively from R2 to
 * R2, no JS copies and no CPU to speak of). Segments are closed once they reach `minSegment` (a
 * smaller append re-writes the last segment with the new bytes after it), so a part is made of at
 * most partSize / minSegment + 3 of them, within the 50 subrequests of an invocation. Once complete,
 * the segments are deleted.
 *
 * Why not another way: a part cannot be uploaded in pieces (R2 has no UploadPartCopy in the Workers
 * binding); holding 5 MiB in the job row or memory across invocations is not possible; a single put
 * of the whole object would pipe hundreds of MB and hundreds of segments in one invocation.
 *
 * The object is several streams one after another (the ZIP: its entries, then its central directory,
 * which grows alongside): bytes of stream 0 are final as soon as they are appended, so parts are cut
 * from it as it grows; the later streams only once the object is `sealed`.
 *
 * Repeating: an append at the same state writes the same keys with the same bytes (a segment's recorded
 * size, not the object's, says which of its bytes are staged), a part uploaded again replaces itself,
 * and `complete` finds an object already completed. So a crash anywhere only repeats work, provided
 * the caller saves the state after each call that changed it.
 */
import { z } from "zod";
import { concat } from "./bytes";
import { ArchiveError } from "./errors";

export const StagedState = z.object({
  uploadId: z.string().min(1),
  /** Segment sizes of each stream, in order. */
  streams: z.array(z.array(z.number().int().positive())),
  sealed: z.boolean(),
  parts: z.array(z.object({ partNumber: z.number().int().positive(), etag: z.string() })),
});
export type StagedState = z.infer<typeof StagedState>;

export interface StagedOptions {
  /** Default 5 MiB, R2's smallest. */
  partSize?: number;
  /** Default 192 KiB: at most 30 segments to a part. */
  minSegment?: number;
}

export const STAGED_PART_SIZE = 5 * 1024 * 1024;
const MIN_SEGMENT = 192 * 1024;
/** Ranged gets one part may need, with the part's upload: within 50 subrequests. */
const MAX_PIECES = 45;

export class StagedObject {
  private readonly partSize: number;
  private readonly minSegment: number;

  constructor(
    private readonly bucket: R2Bucket,
    readonly key: string,
    private readonly prefix: string,
    readonly state: StagedState,
    options: StagedOptions = {},
  ) {
    this.partSize = options.partSize ?? STAGED_PART_SIZE;
    this.minSegment = options.minSegment ?? MIN_SEGMENT;
    if (Math.ceil(this.partSize / this.minSegment) + 3 > MAX_PIECES) {
      throw new ArchiveError("unsupported", "StagedObject: segments too small for the part size");
    }
  }

  /** A new multipart upload of `key` with `streams` empty streams. */
  static async begin(bucket: R2Bucket, key: string, streams: number, contentType: string) {
    const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
    return {
      uploadId: upload.uploadId,
      streams: Array.from({ length: streams }, () => []),
      sealed: false,
      parts: [],
    };
  }

  private segmentKey(stream: number, n: number): string {
    return `${this.prefix}${stream}-${n}`;
  }

  /** Bytes staged in all streams. */
  get size(): number {
    return this.state.streams.reduce((n, s) => n + s.reduce((a, b) => a + b, 0), 0);
  }

  private get uploaded(): number {
    return this.state.parts.length * this.partSize;
  }

  /** Appends to stream `stream` (one put, and one get when the last segment is still small). */
  async append(stream: number, chunks: readonly Uint8Array[]): Promise<void> {
    const sizes = this.state.streams[stream];
    if (!sizes || this.state.sealed) throw new ArchiveError("unsupported", "StagedObject: append after seal");
    const bytes = concat(chunks);
    if (bytes.length === 0) return;
    const last = sizes.length - 1;
    const open = last >= 0 && (sizes[last] as number) < this.minSegment;
    if (!open) {
      await this.bucket.put(this.segmentKey(stream, sizes.length), bytes);
      sizes.push(bytes.length);
      return;
    }
    const key = this.segmentKey(stream, last);
    const had = sizes[last] as number;
    const old = await this.bucket.get(key, { range: { offset: 0, length: had } });
    if (!old) throw new ArchiveError("source", `staged segment ${key} is missing`);
    const before = new Uint8Array(await old.arrayBuffer());
    if (before.length !== had) throw new ArchiveError("source", `staged segment ${key} is short`);
    await this.bucket.put(key, concat([before, bytes]));
    sizes[last] = had + bytes.length;
  }

  /** No more appends: the later streams' bytes may go into parts, the last part may be short. */
  seal(): void {
    this.state.sealed = true;
  }

  /** True when the next part can be uploaded: a whole part's bytes are final, or the rest once sealed. */
  get partReady(): boolean {
    const final = this.state.sealed ? this.size : (this.state.streams[0] ?? []).reduce((a, b) => a + b, 0);
    const left = final - this.uploaded;
    return left >= this.partSize || (this.state.sealed && left > 0);
  }

  /** True when sealed and every byte is in a part: `complete` may be called. */
  get allUploaded(): boolean {
    return this.state.sealed && this.uploaded >= this.size;
  }

  /** Uploads the next part from its segments' bytes, piped straight from R2. */
  async uploadNextPart(): Promise<void> {
    if (!this.partReady) throw new ArchiveError("unsupported", "StagedObject: no part is ready");
    const start = this.uploaded;
    const length = Math.min(this.partSize, this.size - start);
    const pieces = this.locate(start, length);
    if (pieces.length > MAX_PIECES) throw new Error(`StagedObject: a part of ${pieces.length} pieces`);
    const partNumber = this.state.parts.length + 1;
    const { readable, writable } = new FixedLengthStream(length);
    const upload = this.bucket.resumeMultipartUpload(this.key, this.state.uploadId);
    const uploading = upload.uploadPart(partNumber, readable);
    try {
      for (const p of pieces) {
        const object = await this.bucket.get(p.key, { range: { offset: p.offset, length: p.length } });
        if (!object) throw new ArchiveError("source", `staged segment ${p.key} is missing`);
        await object.body.pipeTo(writable, { preventClose: true });
      }
      await writable.close();
    } catch (e) {
      await writable.abort(e).catch(() => {});
      await uploading.catch(() => {});
      throw e;
    }
    const part = await uploading;
    this.state.parts.push({ partNumber: part.partNumber, etag: part.etag });
  }

  /** The ranges of segments that hold bytes [start, start + length) of the object. */
  private locate(start: number, length: number) {
    const pieces: { key: string; offset: number; length: number }[] = [];
    let at = 0;
    const end = start + length;
    for (const [stream, sizes] of this.state.streams.entries()) {
      for (const [n, size] of sizes.entries()) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + size);
        if (from < to) pieces.push({ key: this.segmentKey(stream, n), offset: from - at, length: to - from });
        at += size;
        if (at >= end) return pieces;
      }
    }
    return pieces;
  }

  /** Completes the upload (or finds it completed by an earlier try) and deletes the segments. */
  async complete(): Promise<R2Object> {
    if (!this.allUploaded) throw new ArchiveError("unsupported", "StagedObject: parts still to upload");
    const size = this.size;
    let object = await this.bucket.head(this.key);
    if (!object || object.size !== size) {
      object = await this.bucket
        .resumeMultipartUpload(this.key, this.state.uploadId)
        .complete(this.state.parts);
    }
    if (object.size !== size) {
      throw new ArchiveError("source", `${this.key} is ${object.size} bytes, not the ${size} staged`);
    }
    await this.deleteSegments();
    return object;
  }

  /** Gives up: the upload is aborted and the segments deleted (best effort: what fails stays). */
  async discard(): Promise<void> {
    await this.bucket
      .resumeMultipartUpload(this.key, this.state.uploadId)
      .abort()
      .catch(() => {});
    await this.deleteSegments().catch(() => {});
  }

  private async deleteSegments(): Promise<void> {
    const keys = this.state.streams.flatMap((sizes, stream) =>
      sizes.map((_, n) => this.segmentKey(stream, n)),
    );
    for (let i = 0; i < keys.length; i += 1000) await this.bucket.delete(keys.slice(i, i + 1000));
  }
}
