/**
 * The seam between the import job and outbox.json: an "outbox chunk source" takes a checkpoint (null
 * at the start) and gives the next items with the checkpoint after them. The job stores checkpoints
 * as JSON and never looks inside them.
 *
 * This implementation is the interim one: its checkpoint is the index of the next item, and each
 * chunk re-reads outbox.json from its start with the reader's `startAt` (earlier items are scanned,
 * not parsed). That costs CPU and ranged reads in proportion to how far in the chunk starts, so on a
 * large outbox it outgrows the Free plan's budgets; a source that checkpoints the inflater and the
 * scanner replaces it here, behind the same interface.
 */
import { OutboxReader, type OutboxItem } from "../../lib/archive/json/outbox-reader";
import type { ZipEntry, ZipReader } from "../../lib/archive/zip/reader";

export interface OutboxChunk {
  items: OutboxItem[];
  /** Where the next chunk starts: pass it back as is. */
  checkpoint: unknown;
  /** True when the outbox has no items after these. */
  done: boolean;
}

export interface ChunkLimits {
  maxItems: number;
  /** Inflated bytes a chunk may read at most (a hint the interim source does not need). */
  maxOutputBytes: number;
}

export interface OutboxChunkSource {
  read(checkpoint: unknown, limits: ChunkLimits): Promise<OutboxChunk>;
}

const nextIndex = (checkpoint: unknown): number =>
  typeof checkpoint === "object" && checkpoint !== null && "next" in checkpoint
    ? Number((checkpoint as { next: unknown }).next) || 0
    : 0;

/**
 * Items after `checkpoint`. When the outbox turns out malformed after some items of the chunk were
 * read, those items are handed out and the checkpoint stops at the broken one, so the next read
 * fails there: everything before it is imported, nothing from it on.
 */
export function outboxChunks(zip: ZipReader, entry: ZipEntry): OutboxChunkSource {
  return {
    async read(checkpoint, { maxItems }) {
      const startAt = nextIndex(checkpoint);
      const reader = new OutboxReader(zip.open(entry), { startAt });
      const items: OutboxItem[] = [];
      let done = true;
      try {
        for await (const item of reader.items()) {
          items.push(item);
          if (items.length >= maxItems) {
            done = false;
            break;
          }
        }
      } catch (e) {
        if (items.length === 0) throw e;
        done = false;
      }
      const last = items.at(-1);
      return { items, checkpoint: { next: last ? last.index + 1 : startAt }, done };
    },
  };
}
