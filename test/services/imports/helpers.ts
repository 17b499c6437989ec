import { env } from "cloudflare:test";
import { vi } from "vitest";
import type { Ctx } from "../../../worker/context";
import type { ImportKind, ImportMode } from "../../../worker/db/schema";
import { parseImportFile } from "../../../worker/services/imports/formats";
import { createImport, type ImportJob } from "../../../worker/services/imports/jobs";
import { processImportChunk } from "../../../worker/services/imports/process";
import { activityJson } from "../../helpers/fetch-mock";
import { createRemoteActor } from "../../helpers/remote-actor";

/**
 * Remote people for import tests: `name@host` answers WebFinger and serves its actor at
 * https://host/users/name, as a Mastodon server does. Routes for the fetch mock.
 */
export async function remotePeople(accts: string[]) {
  const routes: Record<string, Response | (() => Response)> = {};
  for (const acct of accts) {
    const [name, host] = acct.split("@") as [string, string];
    const actor = await createRemoteActor(`https://${host}/users/${name}`);
    routes[`https://${host}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${acct}`)}`] = () =>
      new Response(
        JSON.stringify({
          subject: `acct:${acct}`,
          links: [{ rel: "self", type: "application/activity+json", href: actor.id }],
        }),
        { headers: { "content-type": "application/jrd+json" } },
      );
    routes[actor.id] = () => activityJson(actor.document);
  }
  return routes;
}

/** Parses a file and stores its job, as the upload routes do. */
export function startImport(ctx: Ctx, kind: ImportKind, mode: ImportMode, csv: string): Promise<ImportJob> {
  return createImport(ctx, {
    kind,
    mode,
    filename: null,
    rows: parseImportFile(kind, new TextEncoder().encode(csv)),
  });
}

/** Runs a job's chunks as its queue chain would, until it is finished; returns how many ran. */
export async function runToEnd(ctx: Ctx, jobId: string, max = 50): Promise<number> {
  for (let n = 1; n <= max; n++) {
    const outcome = await processImportChunk(ctx, jobId);
    if (outcome === "finished") return n;
    if (outcome !== "more") throw new Error(`chunk ${n}: ${outcome}`);
  }
  throw new Error(`not finished after ${max} chunks`);
}

/** A spy on what is sent to the import queue (the queue itself has no consumer in tests). */
export function spyImportQueue() {
  return vi.spyOn(env.IMPORT_QUEUE, "send");
}
