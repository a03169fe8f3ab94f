import type { ConversationType } from '../../contracts/views';
import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { User } from '../../users/entities/user.entity';

@Entity('conversations')
@Check('CHK_conversations_type', `"type" IN ('direct', 'group')`)
@Check('CHK_conversations_direct_key', `("type" = 'direct') = ("direct_key" IS NOT NULL)`)
@Unique('UQ_conversations_direct_key', ['directKey'])
export class Conversation {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_conversations' })
  id: string;

  @Column({ type: 'varchar', length: 8 })
  type: ConversationType;

  @Column({ type: 'varchar', length: 100, nullable: true })
  title: string | null;

  /** `<smaller user id>:<larger user id>` for direct conversations: one per pair, enforced by the unique index. */
  @Column({ name: 'direct_key', type: 'varchar', length: 73, nullable: true })
  directKey: string | null;

  /** The seq of the newest message; bumped in the sending transaction, so seqs are gapless. */
  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq: number;

  /**
   * The pos of the newest change_log row of the conversation (sync); taken under the row's
   * lock, so positions follow commit order. change_log and membership_periods have no
   * entity: only raw SQL (src/sync/, the send, the triggers) touches them.
   */
  @Column({ name: 'last_change', type: 'bigint', default: 0 })
  lastChange: string;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'created_by', foreignKeyConstraintName: 'FK_conversations_created_by' })
  creator?: User;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Last activity (message, membership change): the conversation list's order. */
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
