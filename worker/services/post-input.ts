/**
 * What the owner asks to post or change, as services/post-publish.ts and post-edit.ts take it, how
 * it is cleaned before anything is stored, and the error a request that cannot be posted fails with.
 */
import { cleanText } from "../lib/text/clean";
import type { Visibility } from "../db/schema";

export interface PollInput {
  options: string[];
  /** Seconds until the poll closes. */
  expiresIn: number;
  multiple?: boolean;
  /** Keep per-option counts from others until the poll ends. */
  hideTotals?: boolean;
}

export interface NoteInput {
  /** Plain text; paragraphs split on blank lines; URLs, #hashtags and @mentions are linked. */
  text: string;
  visibility: Visibility;
  /** Handles or actor URLs to mention besides those in the text (they are addressed and notified). */
  mentions?: string[];
  /** The URI of the status replied to (fetched when unknown). */
  inReplyTo?: string;
  /** Or the local row id of a stored status replied to. */
  inReplyToId?: string;
  spoilerText?: string;
  sensitive?: boolean;
  language?: string;
  /** Ids of the owner's unattached media_attachments rows, in order. */
  mediaIds?: string[];
  poll?: PollInput;
  /** A client's Idempotency-Key: a retry with the same key returns the status already made. */
  idempotencyKey?: string;
}

export interface EditInput {
  text?: string;
  spoilerText?: string;
  sensitive?: boolean;
  language?: string | null;
  /** The complete new list of media (ids of the status's own or unattached media). */
  mediaIds?: string[];
  /** Description and focus changes of media rows, by id. */
  mediaAttributes?: { id: string; description?: string; focus?: { x: number; y: number } }[];
  /** A new poll (its votes start over), or null to remove the poll. */
  poll?: PollInput | null;
}

export class PostingError extends Error {
  override name = "PostingError";
}

/** A poll as stored: its options without control characters (lib/text/clean). */
function cleanPoll(poll: PollInput): PollInput {
  return { ...poll, options: poll.options.map(cleanText) };
}

/** The owner's text as Perch stores it, whatever the client sent: control characters removed. */
export function cleanNoteInput(input: NoteInput): NoteInput {
  return {
    ...input,
    text: cleanText(input.text),
    ...(input.spoilerText !== undefined ? { spoilerText: cleanText(input.spoilerText) } : {}),
    ...(input.poll ? { poll: cleanPoll(input.poll) } : {}),
  };
}

export function cleanEditInput(changes: EditInput): EditInput {
  return {
    ...changes,
    ...(changes.text !== undefined ? { text: cleanText(changes.text) } : {}),
    ...(changes.spoilerText !== undefined ? { spoilerText: cleanText(changes.spoilerText) } : {}),
    ...(changes.poll ? { poll: cleanPoll(changes.poll) } : {}),
    ...(changes.mediaAttributes
      ? {
          mediaAttributes: changes.mediaAttributes.map((a) =>
            a.description !== undefined ? { ...a, description: cleanText(a.description) } : a,
          ),
        }
      : {}),
  };
}
