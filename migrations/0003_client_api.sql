CREATE TABLE `account_notes` (
	`target_account_id` text PRIMARY KEY NOT NULL,
	`note` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `bookmarks` (
	`id` text PRIMARY KEY NOT NULL,
	`status_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bookmarks_status` ON `bookmarks` (`status_id`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`root_uri` text NOT NULL,
	`last_status_id` text NOT NULL,
	`unread` integer DEFAULT true NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_root_uri_unique` ON `conversations` (`root_uri`);--> statement-breakpoint
CREATE TABLE `domain_blocks` (
	`domain` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `endorsements` (
	`target_account_id` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `featured_tags` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `featured_tags_name_unique` ON `featured_tags` (`name`);--> statement-breakpoint
CREATE TABLE `filter_keywords` (
	`id` text PRIMARY KEY NOT NULL,
	`filter_id` text NOT NULL,
	`keyword` text NOT NULL,
	`whole_word` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE INDEX `filter_keywords_filter` ON `filter_keywords` (`filter_id`);--> statement-breakpoint
CREATE TABLE `filter_statuses` (
	`id` text PRIMARY KEY NOT NULL,
	`filter_id` text NOT NULL,
	`status_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `filter_statuses_filter` ON `filter_statuses` (`filter_id`);--> statement-breakpoint
CREATE TABLE `filters` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`context` text NOT NULL,
	`action` text DEFAULT 'warn' NOT NULL,
	`expires_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `followed_tags` (
	`name` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`status_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `list_accounts` (
	`list_id` text NOT NULL,
	`account_id` text NOT NULL,
	PRIMARY KEY(`list_id`, `account_id`)
);
--> statement-breakpoint
CREATE INDEX `list_accounts_account` ON `list_accounts` (`account_id`);--> statement-breakpoint
CREATE TABLE `lists` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`replies_policy` text DEFAULT 'list' NOT NULL,
	`exclusive` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `markers` (
	`timeline` text PRIMARY KEY NOT NULL,
	`last_read_id` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `media_attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`status_id` text,
	`type` text NOT NULL,
	`mime_type` text NOT NULL,
	`key` text NOT NULL,
	`size` integer NOT NULL,
	`width` integer,
	`height` integer,
	`description` text,
	`focus` text,
	`blurhash` text,
	`thumbnail_key` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `media_status` ON `media_attachments` (`status_id`);--> statement-breakpoint
CREATE TABLE `mutes` (
	`target_account_id` text PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`notifications` integer DEFAULT true NOT NULL,
	`expires_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`from_account_id` text NOT NULL,
	`status_id` text,
	`group_key` text NOT NULL,
	`activity_uri` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_group` ON `notifications` (`group_key`,`id`);--> statement-breakpoint
CREATE TABLE `poll_votes` (
	`status_id` text NOT NULL,
	`account_id` text NOT NULL,
	`choice` integer NOT NULL,
	`uri` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`status_id`, `account_id`, `choice`)
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `status_edits` (
	`id` text PRIMARY KEY NOT NULL,
	`status_id` text NOT NULL,
	`content` text NOT NULL,
	`spoiler_text` text DEFAULT '' NOT NULL,
	`sensitive` integer DEFAULT false NOT NULL,
	`attachments` text DEFAULT '[]' NOT NULL,
	`poll` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `status_edits_status` ON `status_edits` (`status_id`,`id`);--> statement-breakpoint
CREATE TABLE `status_tags` (
	`name` text NOT NULL,
	`status_id` text NOT NULL,
	PRIMARY KEY(`name`, `status_id`)
);
--> statement-breakpoint
ALTER TABLE `follows` ADD `show_reblogs` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `follows` ADD `notify` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `follows` ADD `languages` text;--> statement-breakpoint
ALTER TABLE `statuses` ADD `in_reply_to_id` text;--> statement-breakpoint
ALTER TABLE `statuses` ADD `in_reply_to_account_id` text;--> statement-breakpoint
CREATE INDEX `statuses_in_reply_to_uri` ON `statuses` (`in_reply_to_uri`) WHERE in_reply_to_uri IS NOT NULL;--> statement-breakpoint
CREATE INDEX `statuses_reblog_of_id` ON `statuses` (`reblog_of_id`) WHERE reblog_of_id IS NOT NULL;