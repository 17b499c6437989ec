/**
 * The seam between the import job and outbox.json: an "outbox chunk source" takes a checkpoint (null
 * at the start) and gives the next items with the checkpoint after them. The job stores checkpoints
 * (directory.ts keeps them in the job's position, as base64) and never looks inside them.
 *
 * This source resumes where the last chunk stopped (lib/archive/json/outbox-chunks.ts): the checkpoint
 * (~33 KB) holds the inflate window and the JSON parser's state, so a chunk inflates what it reads and
 * at most one 16 KiB piece again, however far into the outbox it starts. The same checkpoint gives the
 * same items, so a chunk that crashed before its batch committed runs again from it.
 */
import { readOutboxChunk } from "../../lib/archive/json/outbox-chunks";
import type { OutboxItem } from "../../lib/archive/json/outbox-parser";
import type { RandomAccessSource } from "../../lib/archive/source";
import type { ZipEntry } from "../../lib/archive/zip/entries";

export interface OutboxChunk {
  items: OutboxItem[];
  /** Where the next chunk starts: pass it back as is. */
  checkpoint: Uint8Array;
  /** True when the outbox has no items after these. */
  done: boolean;
}

export interface ChunkLimits {
  maxItems: number;
  /** Inflated bytes a chunk reads before it stops after the item it is in (so one item at least). */
  maxOutputBytes: number;
}

export interface OutboxChunkSource {
  read(checkpoint: Uint8Array | null, limits: ChunkLimits): Promise<OutboxChunk>;
}

/**
 * Items after `checkpoint`. When the outbox turns out malformed after some items of the chunk were
 * read, those items are handed out and the checkpoint stops after the last of them, so the next read
 * fails at the broken one: everything before it is imported, nothing from it on.
 *
 * `dataLimit` is where entry data must end in the archive: its central directory's offset.
 */
export function outboxChunks(
  source: RandomAccessSource,
  entry: ZipEntry,
  dataLimit: number,
): OutboxChunkSource {
  return {
    async read(checkpoint, { maxItems, maxOutputBytes }) {
      const chunk = await readOutboxChunk(source, entry, checkpoint, {
        maxItems,
        maxOutputBytes,
        dataLimit,
        itemsBeforeError: true,
      });
      return { items: chunk.items, checkpoint: chunk.checkpoint, done: chunk.done };
    },
  };
}
