import type { Bindings } from "../env";
import { processActivity, PermanentError } from "../federation/inbox";
import { InvalidActorError } from "../services/accounts";
import { InvalidObjectError } from "../services/remote-statuses";
import { RemoteFetchError } from "../lib/remote-fetch";
import { backoffSeconds, ctxFromEnv } from "./ctx";
import { keepDeadLetter } from "./dead-letters";
import type { InboxMessage } from "./messages";

/** Attempts before an incoming activity goes to the dead letters (wrangler.toml max_retries agrees). */
export const INBOX_MAX_ATTEMPTS = 5;

const PERMANENT_FETCH = new Set([
  "not_found",
  "gone",
  "id_mismatch",
  "bad_content_type",
  "bad_json",
  "too_large",
]);

export async function consumeInbox(
  batch: MessageBatch<InboxMessage>,
  env: Bindings,
  execution: ExecutionContext,
) {
  const ctx = await ctxFromEnv(env, execution);
  if (!ctx) return batch.retryAll({ delaySeconds: 30 });
  for (const message of batch.messages) {
    try {
      await processActivity(ctx, message.body);
      message.ack();
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const permanent =
        e instanceof PermanentError ||
        e instanceof InvalidActorError ||
        e instanceof InvalidObjectError ||
        (e instanceof RemoteFetchError && PERMANENT_FETCH.has(e.reason));
      if (permanent || message.attempts >= INBOX_MAX_ATTEMPTS) {
        console.warn(`inbox: giving up on ${String(message.body.activity.id)}: ${error}`);
        await keepDeadLetter(ctx, {
          kind: "inbox",
          target: String(message.body.activity.id),
          payload: JSON.stringify(message.body),
          error,
          attempts: message.attempts,
        });
        message.ack();
      } else {
        message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      }
    }
  }
}
