CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`uri` text NOT NULL,
	`url` text,
	`local` integer DEFAULT false NOT NULL,
	`type` text DEFAULT 'Person' NOT NULL,
	`username` text NOT NULL,
	`domain` text NOT NULL,
	`display_name` text DEFAULT '' NOT NULL,
	`note` text DEFAULT '' NOT NULL,
	`avatar_url` text,
	`header_url` text,
	`inbox` text,
	`shared_inbox` text,
	`outbox` text,
	`followers_url` text,
	`following_url` text,
	`featured_url` text,
	`manually_approves_followers` integer DEFAULT false NOT NULL,
	`discoverable` integer DEFAULT true NOT NULL,
	`indexable` integer DEFAULT true NOT NULL,
	`fields` text DEFAULT '[]' NOT NULL,
	`also_known_as` text DEFAULT '[]' NOT NULL,
	`moved_to` text,
	`fetched_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_uri` ON `accounts` (`uri`);--> statement-breakpoint
CREATE TABLE `blocks` (
	`account_id` text NOT NULL,
	`target_account_id` text NOT NULL,
	`uri` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`account_id`, `target_account_id`)
);
--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`target` text NOT NULL,
	`payload` text NOT NULL,
	`error` text NOT NULL,
	`attempts` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `favourites` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`status_id` text NOT NULL,
	`uri` text NOT NULL,
	`emoji` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `favourites_uri` ON `favourites` (`uri`);--> statement-breakpoint
CREATE INDEX `favourites_status` ON `favourites` (`status_id`);--> statement-breakpoint
CREATE TABLE `follows` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`target_account_id` text NOT NULL,
	`uri` text NOT NULL,
	`accepted` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `follows_pair` ON `follows` (`account_id`,`target_account_id`);--> statement-breakpoint
CREATE INDEX `follows_target` ON `follows` (`target_account_id`,`accepted`);--> statement-breakpoint
CREATE INDEX `follows_uri` ON `follows` (`uri`);--> statement-breakpoint
CREATE TABLE `hosts` (
	`host` text PRIMARY KEY NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`open_until` text,
	`signature_scheme` text DEFAULT 'cavage' NOT NULL,
	`last_key_refetch_at` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `inbox_seen` (
	`activity_id` text PRIMARY KEY NOT NULL,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `instance` (
	`id` integer PRIMARY KEY NOT NULL,
	`account_domain` text NOT NULL,
	`web_domain` text NOT NULL,
	`username` text NOT NULL,
	`owner_id` text NOT NULL,
	`federated_at` text,
	`rsa_public_key_pem` text NOT NULL,
	`rsa_private_key` text NOT NULL,
	`ed25519_public_key` text NOT NULL,
	`ed25519_private_key` text NOT NULL,
	`app_rsa_public_key_pem` text NOT NULL,
	`app_rsa_private_key` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `pins` (
	`account_id` text NOT NULL,
	`status_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`account_id`, `status_id`)
);
--> statement-breakpoint
CREATE TABLE `remote_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`owner_uri` text NOT NULL,
	`kind` text NOT NULL,
	`material` text NOT NULL,
	`fetched_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `statuses` (
	`id` text PRIMARY KEY NOT NULL,
	`uri` text NOT NULL,
	`url` text,
	`account_id` text NOT NULL,
	`local` integer DEFAULT false NOT NULL,
	`type` text DEFAULT 'Note' NOT NULL,
	`visibility` text NOT NULL,
	`content` text DEFAULT '' NOT NULL,
	`source` text,
	`spoiler_text` text DEFAULT '' NOT NULL,
	`sensitive` integer DEFAULT false NOT NULL,
	`language` text,
	`in_reply_to_uri` text,
	`reblog_of_id` text,
	`audience` text NOT NULL,
	`mentions` text DEFAULT '[]' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`attachments` text DEFAULT '[]' NOT NULL,
	`poll` text,
	`published_at` text NOT NULL,
	`edited_at` text,
	`deleted_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `statuses_uri` ON `statuses` (`uri`);--> statement-breakpoint
CREATE INDEX `statuses_account_id` ON `statuses` (`account_id`,`id`);