import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateConversationsAndMessages1795301505878 implements MigrationInterface {
  name = 'CreateConversationsAndMessages1795301505878';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "conversations" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "type" character varying(8) NOT NULL,
        "title" character varying(100),
        "direct_key" character varying(73),
        "last_seq" integer NOT NULL DEFAULT '0',
        "created_by" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_conversations_direct_key" UNIQUE ("direct_key"),
        CONSTRAINT "CHK_conversations_direct_key" CHECK (("type" = 'direct') = ("direct_key" IS NOT NULL)),
        CONSTRAINT "CHK_conversations_type" CHECK ("type" IN ('direct', 'group')),
        CONSTRAINT "PK_conversations" PRIMARY KEY ("id"),
        CONSTRAINT "FK_conversations_created_by" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE SET NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "conversation_participants" (
        "conversation_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "role" character varying(8) NOT NULL DEFAULT 'member',
        "last_read_seq" integer NOT NULL DEFAULT '0',
        "last_delivered_seq" integer NOT NULL DEFAULT '0',
        "joined_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "left_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "CHK_participants_role" CHECK ("role" IN ('owner', 'admin', 'member')),
        CONSTRAINT "PK_conversation_participants" PRIMARY KEY ("conversation_id", "user_id"),
        CONSTRAINT "FK_participants_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_participants_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    // The conversation list starts from the caller's active memberships.
    await queryRunner.query(
      `CREATE INDEX "IDX_participants_user_active" ON "conversation_participants" ("user_id") WHERE "left_at" IS NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "messages" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "conversation_id" uuid NOT NULL,
        "seq" integer NOT NULL,
        "sender_id" uuid NOT NULL,
        "content" text,
        "client_message_id" character varying(64),
        "reply_to_id" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "edited_at" TIMESTAMP WITH TIME ZONE,
        "deleted_at" TIMESTAMP WITH TIME ZONE,
        "deleted_by" uuid,
        -- Gapless order, history pages and unread counts all use this index.
        CONSTRAINT "UQ_messages_conversation_seq" UNIQUE ("conversation_id", "seq"),
        CONSTRAINT "PK_messages" PRIMARY KEY ("id"),
        CONSTRAINT "FK_messages_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_messages_sender" FOREIGN KEY ("sender_id") REFERENCES "users"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_messages_reply_to" FOREIGN KEY ("reply_to_id") REFERENCES "messages"("id") ON DELETE SET NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_messages_sender_client_message_id" ON "messages" ("sender_id", "client_message_id") WHERE "client_message_id" IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "message_reactions" (
        "message_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "emoji" character varying(64) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_message_reactions" PRIMARY KEY ("message_id", "user_id", "emoji"),
        CONSTRAINT "FK_reactions_message" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_reactions_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "message_reactions"`);
    await queryRunner.query(`DROP TABLE "messages"`);
    await queryRunner.query(`DROP TABLE "conversation_participants"`);
    await queryRunner.query(`DROP TABLE "conversations"`);
  }
}
