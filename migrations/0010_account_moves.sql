CREATE TABLE `account_moves` (
	`id` text PRIMARY KEY NOT NULL,
	`target_uri` text NOT NULL,
	`followers_count` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
