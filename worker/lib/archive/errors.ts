/**
 * The one error type of the archive readers and writers. `kind` names the failure for code (an import
 * job records it and decides whether a retry can help: only "source" can); the message says what was
 * wrong and where, for the owner's import log.
 */
export type ArchiveErrorKind =
  | "truncated" // the bytes end before the structure they announce
  | "bad_magic" // not the format it claims to be
  | "corrupt" // inconsistent structure, failed inflate, bad checksum of a header
  | "unsafe_name" // a path that escapes the archive: `../`, absolute, NUL, backslash, drive letter
  | "too_large" // over a cap: entry size, header size, item size, entry count
  | "checksum" // CRC-32 of an entry's bytes differs from the one recorded
  | "size_mismatch" // an entry inflates to another size than the one recorded
  | "unsupported" // encryption, an unknown compression method, multi-disk archives
  | "json" // malformed JSON, with a byte position
  | "too_deep" // JSON nested deeper than the cap
  | "bad_checkpoint" // a saved checkpoint that is malformed or belongs to another stream: start over
  | "source"; // the byte source failed (R2 read error, short read)

export class ArchiveError extends Error {
  override readonly name = "ArchiveError";
  constructor(
    readonly kind: ArchiveErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const truncated = (what: string) => new ArchiveError("truncated", `${what}: the data ends early`);
export const badMagic = (what: string) => new ArchiveError("bad_magic", what);
export const corrupt = (what: string) => new ArchiveError("corrupt", what);
export const tooLarge = (what: string) => new ArchiveError("too_large", what);
export const unsupported = (what: string) => new ArchiveError("unsupported", what);
export const unsafeName = (name: string) =>
  new ArchiveError("unsafe_name", `unsafe entry name ${JSON.stringify(name.slice(0, 200))}`);
export const badCheckpoint = (what: string) => new ArchiveError("bad_checkpoint", `checkpoint: ${what}`);
