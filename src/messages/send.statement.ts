import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ChangeMark } from '../database/change-mark';
import { preparedRows } from '../database/sql';
import { MESSAGE_COLUMNS, type MessageRow } from './message-view';

/**
 * THE SEND: the one statement that touches another module's tables, on purpose.
 *
 * A message is accepted, numbered and stored in a single statement, so a single
 * transaction and a single round trip: the sender's membership checked
 * (conversation_participants), the next seq taken under the conversation's row lock
 * (conversations.last_seq, which serialises senders and, with a rollback, keeps seqs
 * gapless), the reply target checked, the row inserted, and the recipients returned
 * for fan-out, and its change_log row (its pos taken under the same lock, see
 * migrations/1796600000000-CreateChangeLog.ts). Split over the Conversations and Messages repositories it would take
 * four round trips and a transaction held across them (measured: 383 against 699
 * msgs/s). Nothing else writes to two modules' tables.
 */

export interface SendItem {
  senderId: string;
  conversationId: string;
  content: string;
  clientMessageId: string | null;
  replyToId: string | null;
}

/** A stored message and its conversation's participants, or undefined when the send was not accepted. */
export type Sent =
  { row: MessageRow; memberIds: string[]; previousCreatedAt: Date | null; change: ChangeMark } | undefined;

const RETURNING = MESSAGE_COLUMNS.replace(/m\./g, '');

/**
 * The seq-taking step, as a CTE named `allocated` (id, seq, member_ids). It checks
 * that the sender takes part (and `condition`, on the row `c`), takes the next seq
 * under the conversation's row lock and returns the participants.
 */
function allocateSeqCte(conversation: string, sender: string, condition = 'TRUE'): string {
  return `allocated AS (
    UPDATE conversations c SET last_seq = c.last_seq + 1, last_change = c.last_change + 1, updated_at = clock_timestamp()
     WHERE c.id = ${conversation}
       AND EXISTS (SELECT 1 FROM conversation_participants p
                    WHERE p.conversation_id = c.id AND p.user_id = ${sender} AND p.left_at IS NULL)
       AND ${condition}
    RETURNING c.id, c.last_seq AS seq, c.last_change AS pos,
              ARRAY(SELECT p.user_id::text FROM conversation_participants p
                     WHERE p.conversation_id = c.id AND p.left_at IS NULL) AS member_ids)`;
}

/**
 * The same for a batch. `accepted` is a CTE of the messages to send (conversation_id,
 * ord, ...) already checked. Their conversations are locked in id order (two batches
 * never wait on each other in a cycle), each takes as many seqs as it has messages, and
 * `numbered` gives every accepted message its seq (in `ord` order within a
 * conversation) and its conversation's participants.
 */
function allocateSeqsCtes(accepted: string): string {
  return `locked AS (
    SELECT c.id FROM conversations c
     WHERE c.id IN (SELECT conversation_id FROM ${accepted})
     ORDER BY c.id FOR UPDATE),
  allocated AS (
    UPDATE conversations c
       SET last_seq = c.last_seq + n.count, last_change = c.last_change + n.count, updated_at = clock_timestamp()
      FROM (SELECT l.id, count(*)::int AS count FROM locked l JOIN ${accepted} a ON a.conversation_id = l.id
             GROUP BY l.id) n
     WHERE c.id = n.id
    RETURNING c.id, c.last_seq - n.count AS base, c.last_change - n.count AS base_pos,
              ARRAY(SELECT p.user_id::text FROM conversation_participants p
                     WHERE p.conversation_id = c.id AND p.left_at IS NULL) AS member_ids),
  numbered AS (
    SELECT a.*, al.member_ids,
           (al.base + row_number() OVER (PARTITION BY a.conversation_id ORDER BY a.ord))::int AS seq,
           al.base_pos + row_number() OVER (PARTITION BY a.conversation_id ORDER BY a.ord) AS pos
      FROM ${accepted} a JOIN allocated al ON al.id = a.conversation_id)`;
}

/**
 * When the message before each one (seq - 1) was created, for fan-out's ordering
 * (see SeqOrderer): NULL when it is not in this statement's snapshot, that is, when
 * it committed while this statement waited for the conversation's lock or is in the
 * same batch, which means it may still be on its way to the sockets.
 */
const PREVIOUS_CREATED_AT = `(SELECT p.created_at FROM messages p
     WHERE p.conversation_id = inserted.conversation_id AND p.seq = inserted.seq - 1) AS previous_created_at`;

/** One message: no row at all when the send was not accepted. */
const SEND_ONE_SQL = `WITH ${allocateSeqCte(
  '$1::uuid',
  '$2::uuid',
  '($5::uuid IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.id = $5::uuid AND r.conversation_id = c.id))',
)},
  inserted AS (
    INSERT INTO messages (conversation_id, seq, sender_id, content, client_message_id, reply_to_id)
    SELECT id, seq, $2, $3, $4, $5 FROM allocated
    RETURNING ${RETURNING}),
  logged AS (
    INSERT INTO change_log (conversation_id, pos, kind, message_id, seq)
    SELECT inserted.conversation_id, allocated.pos, 'message.created', inserted.id, inserted.seq FROM inserted, allocated)
  SELECT inserted.*, 0 AS ord, allocated.member_ids, allocated.pos::text AS pos, pg_current_xact_id()::text AS xid,
         ${PREVIOUS_CREATED_AT} FROM inserted, allocated`;

/**
 * Several messages: each one's sender must take part and its reply target be in the
 * same conversation; those that pass take their seqs and are inserted. A message that
 * does not pass has no row (`ord` says which rows are whose).
 */
const SEND_MANY_SQL = `WITH input AS (
    SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::varchar[], $6::uuid[])
      AS i(ord, conversation_id, sender_id, content, client_message_id, reply_to_id)),
  accepted AS (
    SELECT i.* FROM input i
     WHERE EXISTS (SELECT 1 FROM conversation_participants p
                    WHERE p.conversation_id = i.conversation_id AND p.user_id = i.sender_id AND p.left_at IS NULL)
       AND (i.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages r
                    WHERE r.id = i.reply_to_id AND r.conversation_id = i.conversation_id))),
  ${allocateSeqsCtes('accepted')},
  inserted AS (
    INSERT INTO messages (conversation_id, seq, sender_id, content, client_message_id, reply_to_id)
    SELECT conversation_id, seq, sender_id, content, client_message_id, reply_to_id FROM numbered
    RETURNING ${RETURNING}),
  logged AS (
    INSERT INTO change_log (conversation_id, pos, kind, message_id, seq)
    SELECT inserted.conversation_id, numbered.pos, 'message.created', inserted.id, inserted.seq
      FROM inserted JOIN numbered ON numbered.conversation_id = inserted.conversation_id AND numbered.seq = inserted.seq)
  SELECT inserted.*, numbered.ord, numbered.member_ids, numbered.pos::text AS pos, pg_current_xact_id()::text AS xid,
         ${PREVIOUS_CREATED_AT}
    FROM inserted JOIN numbered ON numbered.conversation_id = inserted.conversation_id AND numbered.seq = inserted.seq`;

/** Runs the send for one message or a batch, as named statements prepared once per connection. */
@Injectable()
export class SendStatement {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async store(items: SendItem[]): Promise<Sent[]> {
    type Row = MessageRow & {
      ord: number;
      member_ids: string[];
      previous_created_at: Date | null;
      pos: string;
      xid: string;
    };
    // A lone send takes the simpler statement: cheaper for PostgreSQL than a batch of one.
    const rows =
      items.length === 1
        ? await preparedRows<Row>(this.dataSource, 'message-send-one', SEND_ONE_SQL, [
            items[0].conversationId,
            items[0].senderId,
            items[0].content,
            items[0].clientMessageId,
            items[0].replyToId,
          ])
        : await preparedRows<Row>(this.dataSource, 'message-send-many', SEND_MANY_SQL, [
            items.map((_, i) => i),
            items.map((i) => i.conversationId),
            items.map((i) => i.senderId),
            items.map((i) => i.content),
            items.map((i) => i.clientMessageId),
            items.map((i) => i.replyToId),
          ]);
    const sent: Sent[] = items.map(() => undefined);
    for (const { ord, member_ids: memberIds, previous_created_at: previousCreatedAt, pos, xid, ...row } of rows) {
      sent[ord] = { row, memberIds, previousCreatedAt, change: { xid, pos: Number(pos) } };
    }
    return sent;
  }
}
