/**
 * Which container an archive is, from its first bytes (never its filename): a ZIP starts with a local
 * file header ("PK\x03\x04", or an empty one with its end record "PK\x05\x06"); a .tar.gz with gzip's
 * magic (1f 8b) and method 8. What is inside a gzip is checked by the tar walker when it reads the
 * first header (a checksum that fails there means "not a tar").
 */

export type Container = "zip" | "tar.gz";

/** Bytes `detectContainer` looks at. */
export const MAGIC_BYTES = 4;

export function detectContainer(head: Uint8Array): Container | null {
  if (head.length < MAGIC_BYTES) return null;
  const [a, b, c, d] = head as unknown as [number, number, number, number];
  if (a === 0x50 && b === 0x4b && ((c === 3 && d === 4) || (c === 5 && d === 6))) return "zip";
  if (a === 0x1f && b === 0x8b && c === 8) return "tar.gz";
  return null;
}

/** The R2 key's extension and content type for each container. */
export const CONTAINERS: Record<Container, { ext: string; type: string }> = {
  zip: { ext: "zip", type: "application/zip" },
  "tar.gz": { ext: "tar.gz", type: "application/gzip" },
};
