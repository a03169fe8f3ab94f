import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Conversation } from '../../conversations/entities/conversation.entity';
import { User } from '../../users/entities/user.entity';

@Entity('messages')
/** Gapless order per conversation; also the index of history pages and unread counts. */
@Unique('UQ_messages_conversation_seq', ['conversationId', 'seq'])
/** Idempotent sends: one message per (sender, clientMessageId). */
@Index('UQ_messages_sender_client_message_id', ['senderId', 'clientMessageId'], {
  unique: true,
  where: '"client_message_id" IS NOT NULL',
})
export class Message {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_messages' })
  id: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_messages_conversation' })
  conversation?: Conversation;

  @Column({ type: 'integer' })
  seq: number;

  @Column({ name: 'sender_id', type: 'uuid' })
  senderId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sender_id', foreignKeyConstraintName: 'FK_messages_sender' })
  sender?: User;

  /** As sent; null once deleted. */
  @Column({ type: 'text', nullable: true })
  content: string | null;

  @Column({ name: 'client_message_id', type: 'varchar', length: 64, nullable: true })
  clientMessageId: string | null;

  @Column({ name: 'reply_to_id', type: 'uuid', nullable: true })
  replyToId: string | null;

  @ManyToOne(() => Message, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'reply_to_id', foreignKeyConstraintName: 'FK_messages_reply_to' })
  replyTo?: Message;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;

  @Column({ name: 'edited_at', type: 'timestamptz', nullable: true })
  editedAt: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  @Column({ name: 'deleted_by', type: 'uuid', nullable: true })
  deletedBy: string | null;
}
