/**
 * Walking a .tar.gz in R2 (Mastodon's older exports) across many invocations: member headers one at a
 * time, each member's body copied out in bounded pieces, and a checkpoint between any two steps, in a
 * member's body included, from which a later invocation continues without inflating anything again
 * (the stream reader, reader.ts, can only re-read from the start).
 *
 * The checkpoint (bytes, about 33 KB) holds the gzip state at the start of the inflated piece the
 * position is in (ResumableGunzip), the bytes to skip there, and the walk's own state: the member
 * being read (its header and how much of its body was handed out) and the next member's index.
 *
 *   const walk = await TarGzWalker.open(source, job.checkpoint);
 *   for (let m = walk.member ?? (await walk.next()); m; m = await walk.next()) {
 *     for (let b = await walk.readBody(); b; b = await walk.readBody()) await copy(m, b);
 *     if (outOfTime()) return save(walk.checkpoint());
 *   }
 *
 * Limits: those of ResumableGunzip (one member) and of the tar reader (no sparse or multi-volume files).
 */
import { z } from "zod";
import { ByteReader } from "../byte-reader";
import { decodeInflateCheckpoint, encodeInflateCheckpoint } from "../deflate/checkpoint";
import { ResumableGunzip, type GunzipOptions, type GzipCheckpoint } from "../deflate/gzip";
import { WINDOW } from "../deflate/inflater";
import { ArchiveError, badCheckpoint } from "../errors";
import type { RandomAccessSource } from "../source";
import { padded, readMemberHeader, type MemberHeader } from "./member";

export interface TarMember extends MemberHeader {
  /** Position among the archive's members, from 0. */
  readonly index: number;
}

export interface WalkOptions extends GunzipOptions {
  /** Largest PAX header or GNU long name accepted; default 1 MiB. */
  maxMetaSize?: number;
  /** Largest member accepted; default: no cap (bodies are read in pieces). */
  maxEntrySize?: number;
  /** Inflated bytes per piece; a resume re-inflates half of one on average. Default 32 KiB. */
  pieceSize?: number;
}

const Member = z.object({
  index: z.number().int().nonnegative(),
  name: z.string(),
  type: z.enum(["file", "directory", "symlink", "hardlink", "other"]),
  typeflag: z.string().max(1),
  size: z.number().int().nonnegative(),
  mode: z.number().int().nonnegative(),
  mtime: z.number(),
  linkName: z.string(),
});

const WalkState = z.object({
  /** Offset in the inflated tar of the walk's position. */
  offset: z.number().int().nonnegative(),
  /** Bytes of the piece starting at the gzip checkpoint to skip to reach `offset`. */
  skip: z.number().int().nonnegative(),
  nextIndex: z.number().int().nonnegative(),
  first: z.boolean(),
  member: Member.extend({ bodyRead: z.number().int().nonnegative() }).nullable(),
  ended: z.boolean(),
});
type WalkState = z.infer<typeof WalkState>;

const MAGIC = 0x31575450; // "PTW1"

export class TarGzWalker {
  private member_: (TarMember & { bodyRead: number }) | null;
  private nextIndex: number;
  private readonly at: { first: boolean };
  private ended: boolean;

  private constructor(
    private readonly gz: ResumableGunzip | null,
    private readonly bytes: ByteReader,
    private readonly base: number,
    state: WalkState | null,
    private readonly options: WalkOptions,
    private readonly sourceSize: number,
  ) {
    this.member_ = state?.member ?? null;
    this.nextIndex = state?.nextIndex ?? 0;
    this.at = { first: state?.first ?? true };
    this.ended = state?.ended ?? false;
  }

  static async open(
    source: RandomAccessSource,
    checkpoint: Uint8Array | null,
    options: WalkOptions = {},
  ): Promise<TarGzWalker> {
    const saved = checkpoint ? decodeWalkCheckpoint(checkpoint) : null;
    const gz = saved?.state.ended ? null : await ResumableGunzip.open(source, saved?.gzip ?? null, options);
    const pieceSize = options.pieceSize ?? WINDOW;
    let skip = saved?.state.skip ?? 0;
    const pull = async (): Promise<Uint8Array | null> => {
      const piece = gz ? await gz.read(pieceSize) : null;
      if (!piece) return null;
      const skipped = Math.min(skip, piece.length);
      skip -= skipped;
      return piece.subarray(skipped);
    };
    return new TarGzWalker(
      gz,
      new ByteReader(pull),
      saved?.state.offset ?? 0,
      saved?.state ?? null,
      options,
      source.size,
    );
  }

  /** The member whose body is being read, if any (after `next`, or restored from a checkpoint). */
  get member(): TarMember | null {
    if (!this.member_) return null;
    const { bodyRead: _, ...member } = this.member_;
    return member;
  }

  /** Bytes of the .tar.gz consumed so far (approximate: the inflater reads ahead within a piece). */
  get compressedPosition(): number {
    return this.gz?.inputPosition ?? this.sourceSize;
  }

  /** The next member's header, passing over what is left of the current one; null at the end. */
  async next(): Promise<TarMember | null> {
    if (this.ended) return null;
    if (this.member_) {
      const m = this.member_;
      await this.bytes.skip(padded(m.size) - m.bodyRead, "tar entry body");
      this.member_ = null;
    }
    const header = await readMemberHeader(
      this.bytes,
      this.at,
      this.options.maxMetaSize ?? 1024 * 1024,
      this.options.maxEntrySize ?? Number.MAX_SAFE_INTEGER,
    );
    if (!header) {
      // The rest is padding; reading it to the end checks the gzip trailer.
      await this.bytes.skipToEnd();
      this.ended = true;
      return null;
    }
    this.member_ = { ...header, index: this.nextIndex++, bodyRead: 0 };
    return this.member;
  }

  /**
   * The next bytes of the current member's body (at most `max`; a view, valid until the next call),
   * or null once it has all been read.
   */
  async readBody(max = 1024 * 1024): Promise<Uint8Array | null> {
    const m = this.member_;
    if (!m) throw new ArchiveError("unsupported", "TarGzWalker: readBody() with no current member");
    const left = m.size - m.bodyRead;
    if (left === 0) return null;
    const piece = await this.bytes.upTo(Math.min(left, max), `tar entry ${JSON.stringify(m.name)}`);
    m.bodyRead += piece.length;
    return piece;
  }

  /** Where the walk stands, as bytes to keep until the next invocation. */
  checkpoint(): Uint8Array {
    const offset = this.base + this.bytes.position;
    const state: WalkState = {
      offset,
      skip: 0,
      nextIndex: this.nextIndex,
      first: this.at.first,
      member: this.member_ ? { ...this.member_ } : null,
      ended: this.ended,
    };
    let gzip: GzipCheckpoint | null = null;
    if (this.gz && !this.ended) {
      // Everything inflated so far is consumed, or the position is inside the last piece.
      const inflated = this.gz.position;
      gzip = this.gz.checkpoint(offset === inflated ? "end" : "start");
      state.skip = offset - gzip.inflate.total;
      if (state.skip < 0) throw new Error("TarGzWalker: position before its piece");
    }
    return encodeWalkCheckpoint(state, gzip);
  }
}

function encodeWalkCheckpoint(state: WalkState, gzip: GzipCheckpoint | null): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(state));
  const inflate = gzip ? encodeInflateCheckpoint(gzip.inflate) : new Uint8Array(0);
  const bytes = new Uint8Array(16 + json.length + inflate.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, json.length, true);
  v.setFloat64(8, gzip?.dataStart ?? 0, true);
  bytes.set(json, 16);
  bytes.set(inflate, 16 + json.length);
  return bytes;
}

function decodeWalkCheckpoint(bytes: Uint8Array): { state: WalkState; gzip: GzipCheckpoint | null } {
  if (bytes.length < 16) throw badCheckpoint("too short for a tar walk checkpoint");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = v.getUint32(4, true);
  if (v.getUint32(0, true) !== MAGIC || 16 + length > bytes.length) {
    throw badCheckpoint("not a tar walk checkpoint (or another version)");
  }
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(16, 16 + length)),
    );
  } catch {
    throw badCheckpoint("tar walk state is not JSON");
  }
  const parsed = WalkState.safeParse(json);
  if (!parsed.success) throw badCheckpoint("bad tar walk state");
  const state = parsed.data;
  if (state.member && state.member.bodyRead > state.member.size) throw badCheckpoint("bad tar walk state");
  if (state.ended) return { state, gzip: null };
  const dataStart = v.getFloat64(8, true);
  if (!Number.isSafeInteger(dataStart)) throw badCheckpoint("bad gzip data offset");
  const inflate = decodeInflateCheckpoint(bytes.subarray(16 + length));
  if (inflate.total + state.skip !== state.offset) throw badCheckpoint("tar walk offsets disagree");
  return { state, gzip: { dataStart, inflate } };
}
