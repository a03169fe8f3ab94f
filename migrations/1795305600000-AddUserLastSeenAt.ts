import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddUserLastSeenAt1795305600000 implements MigrationInterface {
  name = 'AddUserLastSeenAt1795305600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "last_seen_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "last_seen_at"`);
  }
}
