import type { DeliveryMessage, ImportMessage, InboxMessage } from "./queues/messages";

/** The Worker's bindings, as declared in wrangler.toml. */
export interface Bindings {
  DB: D1Database;
  MEDIA: R2Bucket;
  INBOX_QUEUE: Queue<InboxMessage>;
  DELIVERY_QUEUE: Queue<DeliveryMessage>;
  /** Chunks of CSV and archive imports, one message at a time (queues/import-consumer.ts). */
  IMPORT_QUEUE: Queue<ImportMessage>;
  /** Dead-letter queues (wrangler.toml), consumed by queues/failed-consumer.ts. */
  INBOX_FAILED_QUEUE: Queue<unknown>;
  DELIVERY_FAILED_QUEUE: Queue<unknown>;
  ACCOUNT_DOMAIN?: string;
  WEB_DOMAIN?: string;
  USERNAME?: string;
  OWNER_PASSWORD?: string;
  ALLOW_LOOPBACK_FEDERATION?: string;
  /** How long relay counts are gathered before they are written (ms; default 20000). */
  RELAY_COUNT_FLUSH_MS?: string;
  /** How long the usage meter gathers before writing (ms; default 20000; "manual": only when flushed). */
  USAGE_FLUSH_MS?: string;
  /** Bytes of remote media kept in R2 (default 1 GiB; "0" keeps none). The owner's setting overrides it. */
  MEDIA_CACHE_BUDGET_BYTES?: string;
  /** Shown to clients as the server's contact address; defaults to USERNAME@ACCOUNT_DOMAIN. */
  CONTACT_EMAIL?: string;
}
