/**
 * Turning a .tar.gz (Mastodon's older exports) into a ZIP a piece at a time, so that an import reads
 * every archive through ZipReader and its index, whatever it came as. Each call walks the tar from the
 * state the previous one left (TarGzWalker's checkpoint) for about `budget` bytes of inflated tar and
 * returns the ZIP bytes that walk produced, in two streams: the entries (local header, data stored as
 * is, data descriptor with its CRC-32 and sizes) and the central directory records of the entries it
 * finished. The ZIP is the first stream's bytes from every call, then the second's; the call that
 * reaches the end of the tar adds the end records to the second. Calls are deterministic: one that is
 * repeated from the same state returns the same bytes, so a crash between a call and saving its state
 * only repeats it.
 *
 * Members: regular files become entries (stored: their bytes are mostly media, already compressed);
 * directories need none; links, devices and other members are left out and listed in `skipped` with
 * the reason (a link's target may be anything, in or out of the archive). Names are checked by the tar
 * reader as the ZIP reader checks its own (names.ts): a name that escapes the archive fails the walk
 * with "unsafe_name". Two members of one name both become entries; the ZIP index keeps the first, as it
 * does for a ZIP with two such entries.
 *
 * State: the walker's checkpoint (~33 KB, kept as base64) and a few numbers: the job keeps it as JSON.
 */
import { z } from "zod";
import { decodeBase64, encodeBase64 } from "../base64";
import { crc32 } from "../crc32";
import type { RandomAccessSource } from "../source";
import { MAX_U32, METHOD_STORED, toDosDateTime } from "../zip/format";
import { centralRecord, dataDescriptor, endRecords, localHeader } from "../zip/records";
import { TarGzWalker, type WalkOptions } from "./walker";

export const ToZipState = z.object({
  /** The walker's checkpoint, base64; null before the first call. */
  walker: z.string().nullable(),
  /** Bytes of the entries stream so far: also where the next entry's local header goes. */
  offset: z.number().int().nonnegative(),
  /** Entries finished (in the central directory stream), and that stream's bytes so far. */
  entries: z.number().int().nonnegative(),
  cdSize: z.number().int().nonnegative(),
  /** The member whose body is being copied ("file") or passed over ("discard"). */
  entry: z
    .object({
      kind: z.enum(["file", "discard"]),
      name: z.string(),
      offset: z.number().int().nonnegative(),
      crc: z.number().int().nonnegative(),
      size: z.number().int().nonnegative(),
      zip64: z.boolean(),
      date: z.number().int().nonnegative(),
      time: z.number().int().nonnegative(),
    })
    .nullable(),
  /** The tar has been walked to its end and the end records written. */
  ended: z.boolean(),
  /** Compressed bytes walked, for progress. */
  walked: z.number().int().nonnegative(),
});
export type ToZipState = z.infer<typeof ToZipState>;

export const initialToZipState = (): ToZipState => ({
  walker: null,
  offset: 0,
  entries: 0,
  cdSize: 0,
  entry: null,
  ended: false,
  walked: 0,
});

export interface ToZipPiece {
  state: ToZipState;
  /** Bytes for the entries stream, and for the central directory stream. */
  entries: Uint8Array[];
  directory: Uint8Array[];
  /** Members left out, with the reason. */
  skipped: { name: string; reason: string }[];
}

const encoder = new TextEncoder();
/** Work counted for a member's header blocks, so a run of empty members is bounded too. */
const HEADER_WORK = 512;
const PIECE = 64 * 1024;

export async function tarGzToZipPiece(
  source: RandomAccessSource,
  from: ToZipState,
  budget: number,
  options: WalkOptions = {},
): Promise<ToZipPiece> {
  const state: ToZipState = structuredClone(from);
  const out: Uint8Array[] = [];
  const cd: Uint8Array[] = [];
  const skipped: ToZipPiece["skipped"] = [];
  if (state.ended) return { state, entries: out, directory: cd, skipped };
  const walker = await TarGzWalker.open(source, state.walker ? decodeBase64(state.walker) : null, options);
  const emit = (bytes: Uint8Array) => {
    out.push(bytes);
    state.offset += bytes.length;
  };
  let work = 0;
  while (work < budget) {
    const e = state.entry;
    if (e) {
      const piece = await walker.readBody(Math.min(PIECE, Math.max(1, budget - work)));
      if (piece) {
        work += piece.length;
        if (e.kind === "file") {
          e.crc = crc32(piece, e.crc);
          e.size += piece.length;
          emit(piece.slice());
        }
        continue;
      }
      if (e.kind === "file") {
        emit(dataDescriptor(e.crc, e.size, e.size, e.zip64));
        const record = centralRecord({
          name: encoder.encode(e.name),
          method: METHOD_STORED,
          dos: { date: e.date, time: e.time },
          crc: e.crc,
          size: e.size,
          compressedSize: e.size,
          offset: e.offset,
          zip64: e.zip64,
          directory: false,
        });
        cd.push(record);
        state.cdSize += record.length;
        state.entries++;
      }
      state.entry = null;
      continue;
    }
    const m = await walker.next();
    work += HEADER_WORK;
    if (!m) {
      const end = endRecords(state.entries, state.offset, state.cdSize);
      cd.push(end);
      state.cdSize += end.length;
      state.ended = true;
      break;
    }
    if (m.type === "file") {
      const name = encoder.encode(m.name);
      const dos = toDosDateTime(new Date(m.mtime * 1000));
      const zip64 = m.size >= MAX_U32;
      const offset = state.offset;
      emit(localHeader(name, METHOD_STORED, dos, zip64));
      state.entry = { kind: "file", name: m.name, offset, crc: 0, size: 0, zip64, ...dos };
    } else if (m.type !== "directory") {
      skipped.push({ name: m.name, reason: skipReason(m.type, m.typeflag, m.linkName) });
      if (m.size > 0) {
        state.entry = {
          kind: "discard",
          name: m.name,
          offset: 0,
          crc: 0,
          size: 0,
          zip64: false,
          date: 0,
          time: 0,
        };
      }
    }
  }
  state.walker = encodeBase64(walker.checkpoint());
  state.walked = state.ended ? source.size : Math.min(source.size, walker.compressedPosition);
  return { state, entries: out, directory: cd, skipped };
}

function skipReason(type: string, typeflag: string, linkName: string): string {
  const target = JSON.stringify(linkName.slice(0, 200));
  if (type === "symlink") return `a symbolic link (to ${target}): links in a tar archive are not followed`;
  if (type === "hardlink") return `a hard link (to ${target}): links in a tar archive are not followed`;
  return `a tar member of type ${JSON.stringify(typeflag)}, not a regular file`;
}
