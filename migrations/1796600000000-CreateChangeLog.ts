import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The change log behind GET /sync (src/sync/): one row per change a member may see,
 * whoever many members there are, written in the transaction of the change itself.
 *
 * - `pos` numbers the changes of one conversation in commit order: it is taken from
 *   conversations.last_change under the conversation's row lock, which is held to commit,
 *   so a change that commits later always has a higher pos.
 * - `xid` is the writing transaction: a sync token is a PostgreSQL snapshot, and the
 *   changes since a token are exactly those whose transaction the token's snapshot did
 *   not see and the reader's does (pg_visible_in_snapshot). No counter allocated early and
 *   committed late can be skipped: visibility, not a number, decides.
 * - membership_periods says from which pos to which pos a user took part: a change is
 *   seen only by users who took part at its pos, a removed member's last one included.
 *
 * The send (messages/send.statement.ts) writes its rows itself, in its one statement;
 * every other change is logged by the triggers below, so no write path can forget.
 */
export class CreateChangeLog1796600000000 implements MigrationInterface {
  name = 'CreateChangeLog1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "conversations" ADD "last_change" bigint NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      CREATE TABLE "change_log" (
        "conversation_id" uuid NOT NULL,
        "pos" bigint NOT NULL,
        "xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
        "kind" character varying(32) NOT NULL,
        "message_id" uuid,
        "user_id" uuid,
        "seq" integer,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        -- The one b-tree, as every index costs each send: a sync reads, per conversation of the
        -- user, the changes of transactions from the token's xmin on. (conversation_id, pos) is
        -- unique by construction (taken under the row lock): it needs no index of its own.
        CONSTRAINT "PK_change_log" PRIMARY KEY ("conversation_id", "xid", "pos"),
        CONSTRAINT "FK_change_log_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE
      )`);
    // Retention (SYNC_RETENTION_MS) deletes by age; rows arrive in about time order, so a BRIN
    // index (a few pages, almost free to keep up) finds the old ones.
    await queryRunner.query(`CREATE INDEX "IDX_change_log_at" ON "change_log" USING brin ("at")`);
    await queryRunner.query(`
      CREATE TABLE "membership_periods" (
        "conversation_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "from_pos" bigint NOT NULL,
        "to_pos" bigint,
        CONSTRAINT "PK_membership_periods" PRIMARY KEY ("user_id", "conversation_id", "from_pos"),
        CONSTRAINT "FK_membership_periods_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_membership_periods_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    // Who took part before the log existed: from its start (pos 0), or not at all any more.
    await queryRunner.query(`
      INSERT INTO "membership_periods" ("conversation_id", "user_id", "from_pos", "to_pos")
      SELECT "conversation_id", "user_id", 0, CASE WHEN "left_at" IS NULL THEN NULL ELSE 0 END
        FROM "conversation_participants"`);

    await queryRunner.query(`
      CREATE FUNCTION "parley_log_change"(conv uuid, kind text, message uuid, member uuid, seq integer)
      RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE next_pos bigint;
      BEGIN
        -- The row lock (held to commit) puts the conversation's changes in commit order.
        UPDATE conversations SET last_change = last_change + 1 WHERE id = conv RETURNING last_change INTO next_pos;
        IF next_pos IS NULL THEN RETURN NULL; END IF; -- the conversation is being deleted
        INSERT INTO change_log (conversation_id, pos, kind, message_id, user_id, seq)
        VALUES (conv, next_pos, kind, message, member, seq);
        RETURN next_pos;
      END $$`);

    await queryRunner.query(`
      CREATE FUNCTION "parley_log_conversation"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM parley_log_change(NEW.id, 'conversation.created', NULL, NULL, NULL);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_conversations_log" AFTER INSERT ON "conversations"
      FOR EACH ROW EXECUTE FUNCTION "parley_log_conversation"()`);

    await queryRunner.query(`
      CREATE FUNCTION "parley_log_participant"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE created_pos bigint; changed_pos bigint;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          -- Members of a conversation created in this very transaction take part from its creation.
          SELECT pos INTO created_pos FROM change_log
           WHERE conversation_id = NEW.conversation_id AND kind = 'conversation.created'
             AND xid = pg_current_xact_id();
          IF created_pos IS NULL THEN
            created_pos := parley_log_change(NEW.conversation_id, 'participant.added', NULL, NEW.user_id, NULL);
          END IF;
          IF created_pos IS NOT NULL THEN
            INSERT INTO membership_periods (conversation_id, user_id, from_pos) VALUES (NEW.conversation_id, NEW.user_id, created_pos);
          END IF;
          RETURN NULL;
        END IF;
        IF OLD.left_at IS NULL AND NEW.left_at IS NOT NULL THEN
          -- The removed member's last change: it tells their devices to drop the conversation.
          changed_pos := parley_log_change(NEW.conversation_id, 'participant.removed', NULL, NEW.user_id, NULL);
          UPDATE membership_periods SET to_pos = changed_pos
           WHERE conversation_id = NEW.conversation_id AND user_id = NEW.user_id AND to_pos IS NULL;
          RETURN NULL;
        END IF;
        IF OLD.left_at IS NOT NULL AND NEW.left_at IS NULL THEN
          changed_pos := parley_log_change(NEW.conversation_id, 'participant.added', NULL, NEW.user_id, NULL);
          INSERT INTO membership_periods (conversation_id, user_id, from_pos) VALUES (NEW.conversation_id, NEW.user_id, changed_pos)
          ON CONFLICT DO NOTHING;
          RETURN NULL;
        END IF;
        IF NEW.left_at IS NULL AND NEW.last_read_seq > OLD.last_read_seq THEN
          PERFORM parley_log_change(NEW.conversation_id, 'message.read', NULL, NEW.user_id, NEW.last_read_seq);
        END IF;
        IF NEW.left_at IS NULL AND NEW.last_delivered_seq > OLD.last_delivered_seq THEN
          PERFORM parley_log_change(NEW.conversation_id, 'message.delivered', NULL, NEW.user_id, NEW.last_delivered_seq);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_participants_log" AFTER INSERT OR UPDATE ON "conversation_participants"
      FOR EACH ROW EXECUTE FUNCTION "parley_log_participant"()`);

    await queryRunner.query(`
      CREATE FUNCTION "parley_log_message"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
          PERFORM parley_log_change(NEW.conversation_id, 'message.deleted', NEW.id, NULL, NEW.seq);
        ELSIF NEW.deleted_at IS NULL AND NEW.content IS DISTINCT FROM OLD.content THEN
          PERFORM parley_log_change(NEW.conversation_id, 'message.updated', NEW.id, NULL, NEW.seq);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_messages_log" AFTER UPDATE ON "messages"
      FOR EACH ROW EXECUTE FUNCTION "parley_log_message"()`);

    await queryRunner.query(`
      CREATE FUNCTION "parley_log_reaction"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE changed record;
      BEGIN
        IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
        -- A deleted message loses its reactions with it: its message.deleted says so.
        PERFORM parley_log_change(m.conversation_id, 'reaction.updated', m.id, NULL, m.seq)
           FROM messages m WHERE m.id = changed.message_id AND m.deleted_at IS NULL;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_reactions_log" AFTER INSERT OR DELETE ON "message_reactions"
      FOR EACH ROW EXECUTE FUNCTION "parley_log_reaction"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "TRG_reactions_log" ON "message_reactions"`);
    await queryRunner.query(`DROP FUNCTION "parley_log_reaction"()`);
    await queryRunner.query(`DROP TRIGGER "TRG_messages_log" ON "messages"`);
    await queryRunner.query(`DROP FUNCTION "parley_log_message"()`);
    await queryRunner.query(`DROP TRIGGER "TRG_participants_log" ON "conversation_participants"`);
    await queryRunner.query(`DROP FUNCTION "parley_log_participant"()`);
    await queryRunner.query(`DROP TRIGGER "TRG_conversations_log" ON "conversations"`);
    await queryRunner.query(`DROP FUNCTION "parley_log_conversation"()`);
    await queryRunner.query(`DROP FUNCTION "parley_log_change"(uuid, text, uuid, uuid, integer)`);
    await queryRunner.query(`DROP TABLE "membership_periods"`);
    await queryRunner.query(`DROP TABLE "change_log"`);
    await queryRunner.query(`ALTER TABLE "conversations" DROP COLUMN "last_change"`);
  }
}
