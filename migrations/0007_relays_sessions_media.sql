-- Relays, their hourly accounting, the lean table of relayed posts, the remote-media cache and the
-- owner's web sessions. relay_posts and relay_stats are WITHOUT ROWID (hand edit: drizzle-kit cannot
-- express it): a relayed post then costs two rows written (the row and its uri index) and a counter
-- update one.
CREATE TABLE `media_cache` (
	`url_hash` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`content_type` text NOT NULL,
	`bytes` integer NOT NULL,
	`last_used_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `media_cache_last_used` ON `media_cache` (`last_used_at`);--> statement-breakpoint
CREATE TABLE `owner_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`expires_at` text NOT NULL,
	`last_seen_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`user_agent` text
);
--> statement-breakpoint
CREATE TABLE `relay_posts` (
	`id` text PRIMARY KEY NOT NULL,
	`uri` text NOT NULL,
	`url` text,
	`account_id` text NOT NULL,
	`relay_id` text NOT NULL,
	`type` text DEFAULT 'Note' NOT NULL,
	`visibility` text NOT NULL,
	`content` text DEFAULT '' NOT NULL,
	`spoiler_text` text DEFAULT '' NOT NULL,
	`sensitive` integer DEFAULT false NOT NULL,
	`language` text,
	`in_reply_to_uri` text,
	`mentions` text DEFAULT '[]' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`attachments` text DEFAULT '[]' NOT NULL,
	`poll` text,
	`published_at` text NOT NULL,
	`edited_at` text
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `relay_posts_uri` ON `relay_posts` (`uri`);--> statement-breakpoint
CREATE TABLE `relay_stats` (
	`relay_id` text NOT NULL,
	`hour` text NOT NULL,
	`stored` integer DEFAULT 0 NOT NULL,
	`duplicate` integer DEFAULT 0 NOT NULL,
	`filtered` integer DEFAULT 0 NOT NULL,
	`sampled` integer DEFAULT 0 NOT NULL,
	`capped` integer DEFAULT 0 NOT NULL,
	`unauthenticated` integer DEFAULT 0 NOT NULL,
	`invalid` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`relay_id`, `hour`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `relays` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`host` text NOT NULL,
	`protocol` text NOT NULL,
	`actor_uri` text,
	`inbox` text NOT NULL,
	`follow_id` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`state_changed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`reject_reason` text,
	`enabled` integer DEFAULT true NOT NULL,
	`daily_cap` integer NOT NULL,
	`rate_cap` integer NOT NULL,
	`languages` text DEFAULT '[]' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`sampling` integer DEFAULT true NOT NULL,
	`last_activity_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `relays_follow_id` ON `relays` (`follow_id`);