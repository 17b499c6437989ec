import type { Ctx } from "../context";
import { d1Usage } from "../db/metered";
import type { Bindings } from "../env";
import { checkRemoteUrl } from "../lib/url-safety";
import { gates, PROBE_WAIT_MS, recordFailure, recordSuccesses, type Gate } from "./breaker";
import { backoffSeconds, ctxForBatch } from "./ctx";
import { keepDeadLetters, type DeadLetter } from "./dead-letters";
import { BATCH_INBOXES, D1_QUERY_LIMIT, loadBody, packs, sendAll, SUBREQUEST_LIMIT } from "./delivery-packs";
import { sendThrough, type Outcome } from "./delivery-send";
import { DeliveryMessage, deliveryInboxes } from "./messages";

export { deliverOne, type OneDelivery, type Outcome } from "./delivery-send";

/**
 * Attempts (sends that actually happened) before a delivery goes to the dead letters. With the
 * back-off that is about an hour of a host failing while its breaker stays closed; during a longer
 * outage the breaker holds deliveries back without spending attempts, up to MAX_AGE_MS.
 */
export const DELIVERY_MAX_ATTEMPTS = 8;
/** A delivery still undelivered this long after it was first queued is given up. */
export const DELIVERY_MAX_AGE_MS = 3 * 24 * 3600_000;
/** Queues delays a message by at most 12 hours. */
const MAX_DELAY_S = 12 * 3600;

/** What one consumer invocation spent of the platform's per-invocation limits. */
export interface DeliveryUsage {
  /** Messages of the batch, and inboxes sent to (or held back) in this invocation. */
  messages: number;
  inboxes: number;
  /** fetch() calls, R2 reads and sendBatch calls. */
  subrequests: number;
  /** D1 queries, from the isolate's counter (another invocation running alongside would add its own). */
  d1Queries: number;
}

type Message = MessageBatch<unknown>["messages"][number];
type Meter = { subrequests: number };

/** A message of the batch taken in this invocation, with its inboxes' outcomes once they are known. */
interface Job {
  message: Message;
  body: DeliveryMessage;
  inboxes: string[];
  /** Attempts spent by each of its inboxes, this one included. */
  spent: number;
  since: string;
  activity?: string;
  outcomes: Outcome[];
}

export async function consumeDelivery(
  batch: MessageBatch<unknown>,
  env: Bindings,
  execution: ExecutionContext,
) {
  await consumeDeliveryBatch(batch, env, execution);
}

/**
 * Sends a batch of delivery messages, each inbox of a pack on its own: only the inboxes that failed
 * are tried again (in a new, smaller message with their attempt count), only those of a host whose
 * breaker is open are held back, and each inbox that finally fails is its own dead letter.
 */
export async function consumeDeliveryBatch(
  batch: MessageBatch<unknown>,
  env: Bindings,
  execution?: ExecutionContext,
): Promise<DeliveryUsage | null> {
  const queriesBefore = d1Usage.queries;
  const meter: Meter = { subrequests: 0 };
  const ctx = await ctxForBatch("delivery", batch, env, execution);
  if (!ctx) return null;
  const dead: { message: Message; letters: DeadLetter[] }[] = [];
  const followUps: { message: Message; requests: MessageSendRequest<DeliveryMessage>[] }[] = [];
  const jobs: Job[] = [];
  let budget = BATCH_INBOXES;
  for (const message of batch.messages) {
    const parsed = DeliveryMessage.safeParse(message.body);
    if (!parsed.success) {
      const raw = message.body as { inbox?: unknown; inboxes?: unknown } | null;
      dead.push({
        message,
        letters: [
          {
            kind: "delivery",
            target: String(raw?.inbox ?? raw?.inboxes ?? message.id).slice(0, 4096),
            payload: JSON.stringify(message.body) ?? "null",
            error: `MalformedMessage: ${parsed.error.issues[0]?.message ?? "invalid"}`,
            attempts: message.attempts,
          },
        ],
      });
      continue;
    }
    const body = parsed.data;
    const inboxes = deliveryInboxes(body);
    const spent = (body.spent ?? 0) + message.attempts;
    const since = body.since ?? new Date(message.timestamp).toISOString();
    if (inboxes.length > budget && jobs.length > 0) {
      // Beyond what one invocation may spend: queued again at once, this attempt not counted.
      followUps.push({
        message,
        requests: [{ body: { ...body, spent: spent - 1, since }, contentType: "json" }],
      });
      continue;
    }
    budget -= inboxes.length;
    jobs.push({ message, body, inboxes, spent, since, outcomes: [] });
  }

  await Promise.all(jobs.map((job) => load(ctx, job, meter)));
  const live = jobs.filter((j) => j.activity !== undefined && j.outcomes.length === 0);
  await sendJobs(ctx, live, meter);

  for (const job of jobs) settle(job, dead, followUps);
  await finish(ctx, env, dead, followUps, meter);
  const usage: DeliveryUsage = {
    messages: batch.messages.length,
    inboxes: jobs.reduce((n, j) => n + j.inboxes.length, 0),
    subrequests: meter.subrequests,
    d1Queries: d1Usage.queries - queriesBefore,
  };
  if (usage.subrequests > SUBREQUEST_LIMIT || usage.d1Queries > D1_QUERY_LIMIT) {
    // The arithmetic of delivery-packs.ts no longer holds: worth knowing before the platform says so.
    console.warn("delivery: a batch went past the Free plan's per-invocation limits", usage);
  }
  return usage;
}

/** The activity of a job (from R2 if it is there), or the outcome of all its inboxes when it cannot go. */
async function load(ctx: Ctx, job: Job, meter: Meter) {
  const permanent = (error: string) => {
    job.outcomes = job.inboxes.map(() => ({ kind: "permanent", error }) as const);
  };
  if (job.body.payload !== undefined) meter.subrequests++;
  try {
    job.activity = (await loadBody(ctx.env, job.body)) ?? undefined;
  } catch (e) {
    job.outcomes = job.inboxes.map(() => ({ kind: "retry", error: `R2: ${String(e)}` }));
    return;
  }
  if (Date.now() - Date.parse(job.since) > DELIVERY_MAX_AGE_MS) permanent("not delivered within 3 days");
  else if (job.activity === undefined) permanent(`MissingPayload: ${job.body.payload} is not in R2`);
}

/**
 * Every inbox of the jobs: one read of the breakers of all their hosts, the POSTs side by side, and
 * one write for the hosts that answered.
 */
async function sendJobs(ctx: Ctx, jobs: Job[], meter: Meter) {
  const targets = jobs.flatMap((job) => job.inboxes.map((inbox, i) => ({ job, i, inbox })));
  if (targets.length === 0) return;
  const hostOf = new Map<string, string>();
  for (const { job, i, inbox } of targets) {
    const safe = checkRemoteUrl(inbox, { allowLoopback: ctx.config.allowLoopback });
    if (safe.ok) hostOf.set(inbox, safe.url.host);
    else job.outcomes[i] = { kind: "permanent", error: `inbox URL refused: ${safe.reason}` };
  }
  let open: Map<string, Gate>;
  try {
    open = await gates(ctx, [...hostOf.values()]);
  } catch (e) {
    // Without the breakers nothing is sent: every inbox is tried again later.
    console.error("delivery: could not read the breakers", e);
    return;
  }
  // A spread per host, so that its held deliveries do not all return in the same second.
  const spread = new Map<string, number>();
  const probed = new Set<string>();
  const answered: string[] = [];
  await Promise.all(
    targets.map(async ({ job, i, inbox }) => {
      const host = hostOf.get(inbox);
      if (host === undefined) return;
      let g: Gate = open.get(host) ?? { send: true, scheme: "cavage" };
      if (g.send && g.probe) {
        // A half-open host gets one delivery of the batch as its probe; the others wait for it.
        if (probed.has(host)) g = { send: false, waitMs: PROBE_WAIT_MS };
        probed.add(host);
      }
      if (!spread.has(host)) spread.set(host, Math.floor(Math.random() * 30));
      try {
        const one = { inbox, body: job.activity ?? "", signer: job.body.signer };
        const outcome = await sendThrough(ctx, one, host, g, { meter, spreadSeconds: spread.get(host) });
        job.outcomes[i] = outcome;
        if (outcome.kind === "delivered" || outcome.kind === "permanent") answered.push(host);
        else if (outcome.kind === "retry") await recordFailure(ctx, host);
      } catch (e) {
        console.error("delivery: unexpected failure", e);
        job.outcomes[i] ??= { kind: "retry", error: `unexpected: ${String(e)}` };
      }
    }),
  );
  await recordSuccesses(ctx, answered).catch((e) => console.error("delivery: could not close breakers", e));
}

/** What becomes of a job's message once its inboxes' outcomes are known. */
function settle(
  job: Job,
  dead: { message: Message; letters: DeadLetter[] }[],
  followUps: { message: Message; requests: MessageSendRequest<DeliveryMessage>[] }[],
) {
  const letters: DeadLetter[] = [];
  const later = new Map<string, { spent: number; delaySeconds: number; inboxes: string[] }>();
  const again = (spent: number, delaySeconds: number, inbox: string) => {
    const key = `${spent} ${delaySeconds}`;
    const group = later.get(key) ?? { spent, delaySeconds, inboxes: [] };
    group.inboxes.push(inbox);
    later.set(key, group);
  };
  let retried = 0;
  job.inboxes.forEach((inbox, i) => {
    const outcome = job.outcomes[i] ?? { kind: "retry", error: "not sent" };
    if (outcome.kind === "delivered") return;
    if (outcome.kind === "held") {
      // Held back without being sent: queued again with what it has spent so far (not this one).
      return again(job.spent - 1, Math.min(outcome.delaySeconds, MAX_DELAY_S), inbox);
    }
    if (outcome.kind === "retry" && job.spent < DELIVERY_MAX_ATTEMPTS) {
      retried++;
      return again(job.spent, outcome.delaySeconds ?? backoffSeconds(job.spent), inbox);
    }
    letters.push({
      kind: "delivery",
      target: inbox,
      // The message of the first shape for this inbox alone: what retrying the dead letter queues.
      payload: JSON.stringify(
        job.activity !== undefined
          ? { inbox, body: job.activity, signer: job.body.signer }
          : { inbox, payload: job.body.payload, signer: job.body.signer },
      ),
      error: outcome.error,
      attempts: job.spent,
    });
  });
  if (letters.length > 0) dead.push({ message: job.message, letters });
  if (later.size === 0) {
    if (letters.length === 0) job.message.ack();
    return;
  }
  const groups = [...later.values()];
  if (retried === job.inboxes.length && groups.length === 1) {
    // The whole message failed alike: the queue's own retry is the cheapest way to try it again.
    job.message.retry({ delaySeconds: groups[0]?.delaySeconds });
    return;
  }
  const content =
    job.body.payload !== undefined ? { payload: job.body.payload } : { body: job.body.body ?? "" };
  const requests = groups.flatMap((g) =>
    packs(g.inboxes, content, { signer: job.body.signer, since: job.since, spent: g.spent }, g.delaySeconds),
  );
  followUps.push({ message: job.message, requests });
}

/**
 * Writes the dead letters, then queues the follow-ups, then acks. A message whose dead letters or
 * follow-ups could not be written is left to the queue's retry as a whole (its delivered inboxes then
 * get the activity again, which receivers recognise by its id): nothing is lost.
 */
async function finish(
  ctx: Ctx,
  env: Bindings,
  dead: { message: Message; letters: DeadLetter[] }[],
  followUps: { message: Message; requests: MessageSendRequest<DeliveryMessage>[] }[],
  meter: Meter,
) {
  const failed = new Set<Message>();
  if (dead.length > 0) {
    try {
      await keepDeadLetters(
        ctx,
        dead.flatMap((d) => d.letters),
      );
    } catch (e) {
      console.error("delivery: could not keep dead letters", e);
      for (const d of dead) failed.add(d.message);
      for (const d of dead) d.message.retry({ delaySeconds: 300 });
    }
  }
  const pending = followUps.filter((f) => !failed.has(f.message));
  if (pending.length > 0) {
    try {
      meter.subrequests += await sendAll(
        env.DELIVERY_QUEUE,
        pending.flatMap((f) => f.requests),
      );
      for (const f of pending) f.message.ack();
    } catch (e) {
      // Could not queue the copies: keep the originals (this costs them an attempt, but nothing is lost).
      console.error("delivery: could not queue follow-ups", e);
      for (const f of pending) {
        failed.add(f.message);
        f.message.retry({ delaySeconds: 60 });
      }
    }
  }
  const followed = new Set(pending.map((f) => f.message));
  for (const d of dead) if (!failed.has(d.message) && !followed.has(d.message)) d.message.ack();
}
