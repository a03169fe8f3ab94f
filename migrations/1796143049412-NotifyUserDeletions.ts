import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A deleted user's still-valid access tokens must stop working at once on every
 * instance, without a query per request: each instance caches which users exist
 * and LISTENs on this channel (src/users/user-deletions.listener.ts).
 */
export class NotifyUserDeletions1796143049412 implements MigrationInterface {
  name = 'NotifyUserDeletions1796143049412';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "parley_notify_user_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('parley_user_deleted', OLD.id::text);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_users_notify_deleted" AFTER DELETE ON "users"
      FOR EACH ROW EXECUTE FUNCTION "parley_notify_user_deleted"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "TRG_users_notify_deleted" ON "users"`);
    await queryRunner.query(`DROP FUNCTION "parley_notify_user_deleted"()`);
  }
}
