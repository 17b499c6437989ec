CREATE TABLE `home_feed` (
	`status_id` text PRIMARY KEY NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `follows_no_reblogs` ON `follows` (`account_id`,`target_account_id`) WHERE show_reblogs = 0;--> statement-breakpoint
CREATE INDEX `follows_languages` ON `follows` (`account_id`,`target_account_id`) WHERE languages IS NOT NULL;--> statement-breakpoint
-- Hand-written below (drizzle-kit does not write triggers): what belongs at home today, then the
-- triggers that keep it (worker/db/schema.ts, homeFeed). The owner is the instance row's owner_id.
INSERT OR IGNORE INTO `home_feed` (`status_id`)
SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND (
  s.account_id = (SELECT owner_id FROM instance)
  OR s.account_id IN (SELECT target_account_id FROM follows
    WHERE account_id = (SELECT owner_id FROM instance) AND accepted = 1)
  OR (s.visibility = 'public' AND s.reblog_of_id IS NULL AND EXISTS (
    SELECT 1 FROM status_tags st JOIN followed_tags ft ON ft.name = st.name WHERE st.status_id = s.id)));--> statement-breakpoint
-- A new status by the owner or a followed account; a boost only when its original is not among the
-- 40 entries above it (Mastodon's FeedManager::REBLOG_FALLOFF).
CREATE TRIGGER `home_feed_status_added` AFTER INSERT ON `statuses`
WHEN NEW.deleted_at IS NULL
  AND (NEW.account_id = (SELECT owner_id FROM instance)
    OR EXISTS (SELECT 1 FROM follows WHERE account_id = (SELECT owner_id FROM instance)
      AND target_account_id = NEW.account_id AND accepted = 1))
  AND (NEW.reblog_of_id IS NULL
    OR NOT EXISTS (SELECT 1 FROM home_feed WHERE status_id = NEW.reblog_of_id)
    OR (SELECT count(*) FROM (SELECT 1 FROM home_feed
      WHERE status_id > NEW.reblog_of_id AND status_id < NEW.id LIMIT 40)) >= 40)
BEGIN
  INSERT OR IGNORE INTO home_feed (status_id) VALUES (NEW.id);
END;--> statement-breakpoint
-- A public post (not a boost) tagged with a followed tag.
CREATE TRIGGER `home_feed_tag_added` AFTER INSERT ON `status_tags`
WHEN EXISTS (SELECT 1 FROM followed_tags WHERE name = NEW.name)
BEGIN
  INSERT OR IGNORE INTO home_feed (status_id) SELECT id FROM statuses
    WHERE id = NEW.status_id AND deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL;
END;--> statement-breakpoint
CREATE TRIGGER `home_feed_status_tombstoned` AFTER UPDATE OF deleted_at ON `statuses`
WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL
BEGIN
  DELETE FROM home_feed WHERE status_id = NEW.id;
END;--> statement-breakpoint
CREATE TRIGGER `home_feed_status_deleted` AFTER DELETE ON `statuses`
BEGIN
  DELETE FROM home_feed WHERE status_id = OLD.id;
END;--> statement-breakpoint
-- A follow of the owner's accepted: the account's 400 newest statuses join (as Mastodon merges them).
CREATE TRIGGER `home_feed_follow_added` AFTER INSERT ON `follows`
WHEN NEW.accepted = 1 AND NEW.account_id = (SELECT owner_id FROM instance)
BEGIN
  INSERT OR IGNORE INTO home_feed (status_id) SELECT id FROM statuses
    WHERE account_id = NEW.target_account_id AND deleted_at IS NULL ORDER BY id DESC LIMIT 400;
END;--> statement-breakpoint
CREATE TRIGGER `home_feed_follow_accepted` AFTER UPDATE OF accepted ON `follows`
WHEN NEW.accepted = 1 AND OLD.accepted = 0 AND NEW.account_id = (SELECT owner_id FROM instance)
BEGIN
  INSERT OR IGNORE INTO home_feed (status_id) SELECT id FROM statuses
    WHERE account_id = NEW.target_account_id AND deleted_at IS NULL ORDER BY id DESC LIMIT 400;
END;--> statement-breakpoint
-- A follow of the owner's ended: the account's statuses leave, but for public posts that carry a
-- followed tag. (Nothing sets an accepted follow back to pending.)
CREATE TRIGGER `home_feed_follow_removed` AFTER DELETE ON `follows`
WHEN OLD.accepted = 1 AND OLD.account_id = (SELECT owner_id FROM instance)
BEGIN
  DELETE FROM home_feed WHERE status_id IN (SELECT s.id FROM statuses s
    WHERE s.account_id = OLD.target_account_id AND NOT (s.visibility = 'public' AND s.reblog_of_id IS NULL
      AND EXISTS (SELECT 1 FROM status_tags st JOIN followed_tags ft ON ft.name = st.name WHERE st.status_id = s.id)));
END;--> statement-breakpoint
-- A tag followed: its 400 newest public posts join; unfollowed: those from neither the owner nor a
-- followed account, and carrying no other followed tag, leave.
CREATE TRIGGER `home_feed_tag_followed` AFTER INSERT ON `followed_tags`
BEGIN
  INSERT OR IGNORE INTO home_feed (status_id) SELECT s.id FROM status_tags st JOIN statuses s ON s.id = st.status_id
    WHERE st.name = NEW.name AND s.deleted_at IS NULL AND s.visibility = 'public' AND s.reblog_of_id IS NULL
    ORDER BY st.status_id DESC LIMIT 400;
END;--> statement-breakpoint
CREATE TRIGGER `home_feed_tag_unfollowed` AFTER DELETE ON `followed_tags`
BEGIN
  DELETE FROM home_feed WHERE status_id IN (SELECT s.id FROM status_tags st JOIN statuses s ON s.id = st.status_id
    WHERE st.name = OLD.name AND s.account_id <> (SELECT owner_id FROM instance)
      AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.account_id = (SELECT owner_id FROM instance)
        AND f.target_account_id = s.account_id AND f.accepted = 1)
      AND NOT EXISTS (SELECT 1 FROM status_tags o JOIN followed_tags ft ON ft.name = o.name WHERE o.status_id = s.id));
END;
