-- A typical self-built IM's tables (MySQL 8 / MariaDB 10.5+), the example of `cutover export`.
-- Times are unix milliseconds; every table has `updated_at`, which the delta queries read.
-- Deletions are soft where the app keeps the row: `deleted_at` (users, friendships, chat_groups,
-- group_members; NULL while the row lives) or `is_deleted` (a recalled message); a deletion
-- moves `updated_at` too, so that a delta carries it as a tombstone.
-- `groups` is a reserved word in MySQL 8, so the table of groups is `chat_groups`.
CREATE TABLE users (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  user_id VARCHAR(64) NOT NULL UNIQUE,
  nickname VARCHAR(600),
  avatar VARCHAR(600),
  created_at BIGINT NOT NULL,
  deleted_at BIGINT,
  updated_at BIGINT NOT NULL,
  KEY users_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE user_profiles (
  user_id VARCHAR(64) PRIMARY KEY,
  gender VARCHAR(16),
  birthday INT,
  location VARCHAR(64),
  signature VARCHAR(600),
  allow_friend VARCHAR(32),
  language INT,
  level INT,
  role INT,
  extra JSON,
  updated_at BIGINT NOT NULL,
  KEY profiles_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE friendships (
  owner_id VARCHAR(64) NOT NULL,
  friend_id VARCHAR(64) NOT NULL,
  remark VARCHAR(200),
  tags JSON,
  add_source VARCHAR(32) NOT NULL,
  wording VARCHAR(400),
  extra JSON,
  created_at BIGINT,
  deleted_at BIGINT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (owner_id, friend_id),
  KEY friendships_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE messages (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  msg_id VARCHAR(64) NOT NULL UNIQUE,
  sender_id VARCHAR(64) NOT NULL,
  receiver_id VARCHAR(64) NOT NULL,
  seq BIGINT,
  rnd BIGINT,
  content JSON NOT NULL,
  cloud_custom TEXT,
  created_at BIGINT NOT NULL,
  is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at BIGINT NOT NULL,
  KEY messages_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE chat_groups (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  group_id VARCHAR(64) NOT NULL UNIQUE,
  group_type VARCHAR(16) NOT NULL,
  name VARCHAR(100) NOT NULL,
  owner_id VARCHAR(64),
  introduction VARCHAR(400),
  notification VARCHAR(400),
  avatar VARCHAR(200),
  max_members INT,
  join_option VARCHAR(32),
  extra JSON,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT,
  updated_at BIGINT NOT NULL,
  KEY groups_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE group_members (
  group_id VARCHAR(64) NOT NULL,
  user_id VARCHAR(64) NOT NULL,
  role VARCHAR(16),
  joined_at BIGINT,
  unread INT,
  deleted_at BIGINT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, user_id),
  KEY members_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE group_messages (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  msg_id VARCHAR(64) NOT NULL UNIQUE,
  group_id VARCHAR(64) NOT NULL,
  sender_id VARCHAR(64) NOT NULL,
  rnd BIGINT,
  content JSON NOT NULL,
  cloud_custom TEXT,
  created_at BIGINT NOT NULL,
  is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at BIGINT NOT NULL,
  KEY group_messages_updated (updated_at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
