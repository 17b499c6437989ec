/**
 * The archive fixtures (test/fixtures/archive/, made by make_fixtures.py with Python's zipfile,
 * tarfile and gzip and Info-ZIP's zip), decoded from the base64 they are stored as, and helpers to
 * read streams in tests.
 */
import absoluteZip from "../../fixtures/archive/absolute.zip.b64?raw";
import bombLyingZip from "../../fixtures/archive/bomb-lying-size.zip.b64?raw";
import bombZip from "../../fixtures/archive/bomb.zip.b64?raw";
import manifestJson from "../../fixtures/archive/manifest.json";
import gnuTarGz from "../../fixtures/archive/mastodon-gnu.tar.gz.b64?raw";
import paxTarGz from "../../fixtures/archive/mastodon-pax.tar.gz.b64?raw";
import mastodonZip from "../../fixtures/archive/mastodon.zip.b64?raw";
import outboxJson from "../../fixtures/archive/outbox.json?raw";
import paxSizeTar from "../../fixtures/archive/pax-size.tar.b64?raw";
import traversalTarGz from "../../fixtures/archive/traversal.tar.gz.b64?raw";
import traversalZip from "../../fixtures/archive/traversal.zip.b64?raw";
import ustarTar from "../../fixtures/archive/ustar.tar.b64?raw";
import zip64CliZip from "../../fixtures/archive/zip64-cli.zip.b64?raw";
import zip64PythonZip from "../../fixtures/archive/zip64-python.zip.b64?raw";

const decode = (b64: string): Uint8Array =>
  Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));

export const fixtures = {
  mastodonZip: decode(mastodonZip),
  zip64PythonZip: decode(zip64PythonZip),
  zip64CliZip: decode(zip64CliZip),
  traversalZip: decode(traversalZip),
  absoluteZip: decode(absoluteZip),
  bombZip: decode(bombZip),
  bombLyingZip: decode(bombLyingZip),
  paxTarGz: decode(paxTarGz),
  gnuTarGz: decode(gnuTarGz),
  ustarTar: decode(ustarTar),
  paxSizeTar: decode(paxSizeTar),
  traversalTarGz: decode(traversalTarGz),
  outboxJson: new TextEncoder().encode(outboxJson),
};

export type ManifestMember = { name: string; size: number; sha256: string };
export const manifest = manifestJson as Record<string, ManifestMember[]>;

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A stream of `bytes` in chunks of `size` (to split headers, UTF-8 and tokens across chunks). */
export function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** Rejects with the ArchiveError kind a promise fails with (or "resolved"). */
export async function failureKind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return (e as { kind?: string }).kind ?? `not an ArchiveError: ${String(e)}`;
  }
}
