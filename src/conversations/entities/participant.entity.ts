import type { ParticipantRole } from '../../contracts/views';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/entities/user.entity';
import { Conversation } from './conversation.entity';

/** A user's membership of a conversation; `leftAt` set when they left or were removed. */
@Entity('conversation_participants')
@Check('CHK_participants_role', `"role" IN ('owner', 'admin', 'member')`)
@Index('IDX_participants_user_active', ['userId'], { where: '"left_at" IS NULL' })
export class Participant {
  @PrimaryColumn({ name: 'conversation_id', type: 'uuid', primaryKeyConstraintName: 'PK_conversation_participants' })
  conversationId: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'PK_conversation_participants' })
  userId: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_participants_conversation' })
  conversation?: Conversation;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_participants_user' })
  user?: User;

  @Column({ type: 'varchar', length: 8, default: 'member' })
  role: ParticipantRole;

  /** Read marker: only moves forward. */
  @Column({ name: 'last_read_seq', type: 'integer', default: 0 })
  lastReadSeq: number;

  /** Delivery marker (devices received up to this seq): only moves forward. */
  @Column({ name: 'last_delivered_seq', type: 'integer', default: 0 })
  lastDeliveredSeq: number;

  @Column({ name: 'joined_at', type: 'timestamptz', default: () => 'now()' })
  joinedAt: Date;

  @Column({ name: 'left_at', type: 'timestamptz', nullable: true })
  leftAt: Date | null;
}
