/**
 * ZIP record layouts shared by the reader and the writer (PKWARE APPNOTE 6.3.10, sections 4.3 and
 * 4.5.3): signatures, fixed sizes, flags, and the DOS date/time both sides convert.
 * https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
 */

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_LOCATOR64 = 0x07064b50;
export const SIG_DESCRIPTOR = 0x08074b50;

export const LOCAL_SIZE = 30;
export const CENTRAL_SIZE = 46;
export const EOCD_SIZE = 22;
export const EOCD64_SIZE = 56;
export const LOCATOR64_SIZE = 20;

export const FLAG_ENCRYPTED = 1 << 0;
export const FLAG_DESCRIPTOR = 1 << 3;
export const FLAG_UTF8 = 1 << 11;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

export const EXTRA_ZIP64 = 0x0001;
export const MAX_U16 = 0xffff;
export const MAX_U32 = 0xffffffff;

/** DOS date and time (local time by convention; Perch writes and reads them as UTC). */
export function fromDosDateTime(date: number, time: number): Date {
  return new Date(
    Date.UTC(
      1980 + (date >>> 9),
      ((date >>> 5) & 0xf) - 1,
      date & 0x1f,
      time >>> 11,
      (time >>> 5) & 0x3f,
      (time & 0x1f) * 2,
    ),
  );
}

export function toDosDateTime(d: Date): { date: number; time: number } {
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107);
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >>> 1),
  };
}
