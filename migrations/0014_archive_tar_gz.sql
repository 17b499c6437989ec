ALTER TABLE `archive_imports` ADD `phase` text DEFAULT 'import' NOT NULL;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `convert` text;--> statement-breakpoint
ALTER TABLE `archive_imports` ADD `converted_bytes` integer DEFAULT 0 NOT NULL;