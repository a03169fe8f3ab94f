import { BadRequestException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ConversationsService } from '../../src/conversations/conversations.service';
import { MessagesService } from '../../src/messages/messages.service';
import { startServiceContext, type ServiceContext } from '../support/service-context';

/** The conversation rules, on real PostgreSQL, called as the controllers call them (no HTTP). */
describe('ConversationsService (medium: real PostgreSQL, no HTTP)', () => {
  let ctx: ServiceContext;
  let conversations: ConversationsService;
  let messages: MessagesService;
  beforeAll(async () => {
    ctx = await startServiceContext({ GROUP_MAX_PARTICIPANTS: '4' });
    conversations = ctx.get(ConversationsService);
    messages = ctx.get(MessagesService);
  });
  afterAll(() => ctx.close());

  const users = (n: number) => Promise.all(Array.from({ length: n }, () => ctx.user()));
  const roles = async (id: string) =>
    Object.fromEntries(
      (await conversations.get((await conversations.memberIds(id))[0], id)).participants.map((p) => [p.id, p.role]),
    );
  const makeAdmin = (id: string, userId: string) =>
    ctx.dataSource.query(
      `UPDATE conversation_participants SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2`,
      [id, userId],
    );

  describe('an owner who leaves', () => {
    it('hands ownership to the longest-standing admin', async () => {
      const [owner, first, second, admin] = await users(4);
      const { id } = await conversations.createGroup(owner, 'g', [first, second, admin]);
      await makeAdmin(id, admin);
      await conversations.removeParticipant(owner, id, owner);
      expect(await roles(id)).toEqual({ [first]: 'member', [second]: 'member', [admin]: 'owner' });
    });

    it('hands it to the longest-standing member when there is no admin', async () => {
      const [owner, first, second] = await users(3);
      const { id } = await conversations.createGroup(owner, 'g', [first]);
      await conversations.addParticipants(owner, id, [second]);
      await conversations.removeParticipant(owner, id, owner);
      expect(await roles(id)).toEqual({ [first]: 'owner', [second]: 'member' });
    });

    it('only the owner removes others; a member may only leave', async () => {
      const [owner, member, other] = await users(3);
      const { id } = await conversations.createGroup(owner, 'g', [member, other]);
      await expect(conversations.removeParticipant(member, id, other)).rejects.toThrow(ForbiddenException);
      await conversations.removeParticipant(member, id, member);
      expect(await conversations.memberIds(id)).toEqual(expect.not.arrayContaining([member]));
    });
  });

  describe('group size (GROUP_MAX_PARTICIPANTS = 4, owner included)', () => {
    it('creates a full group, refuses a fifth at creation (400) and when adding (403)', async () => {
      const [owner, ...others] = await users(5);
      await expect(conversations.createGroup(owner, 'too big', others)).rejects.toThrow(BadRequestException);
      const { id } = await conversations.createGroup(owner, 'full', others.slice(0, 3));
      await expect(conversations.addParticipants(owner, id, [others[3]])).rejects.toThrow(ForbiddenException);
      expect(await conversations.memberIds(id)).toHaveLength(4);
    });

    it('counts a member who left as a free place, and lets them back', async () => {
      const [owner, ...others] = await users(5);
      const { id } = await conversations.createGroup(owner, 'g', others.slice(0, 3));
      await conversations.removeParticipant(others[0], id, others[0]);
      await conversations.addParticipants(owner, id, [others[3]]);
      await expect(conversations.addParticipants(owner, id, [others[0]])).rejects.toThrow(ForbiddenException);
      expect((await conversations.memberIds(id)).sort()).toEqual([owner, ...others.slice(1, 4)].sort());
    });
  });

  describe('access checks', () => {
    it('requireMembership throws 404 alike for an outsider and an unknown conversation', async () => {
      const [a, b, outsider] = await users(3);
      const { view } = await conversations.openDirect(a, b);
      expect(await conversations.requireMembership(view.id, a)).toMatchObject({ type: 'direct', role: 'member' });
      await expect(conversations.requireMembership(view.id, outsider)).rejects.toThrow(NotFoundException);
      await expect(conversations.requireMembership(randomUUID(), a)).rejects.toThrow(NotFoundException);
    });

    it('checkMembership answers for any number of conversations at once: current memberships only', async () => {
      const [me, peer, other] = await users(3);
      const direct = (await conversations.openDirect(me, peer)).view.id;
      const left = (await conversations.createGroup(peer, 'left', [me])).id;
      const foreign = (await conversations.openDirect(peer, other)).view.id;
      await conversations.removeParticipant(me, left, me);
      const checked = await conversations.checkMembership(me, [direct, left, foreign, randomUUID(), direct]);
      expect([...checked]).toEqual([direct]);
      expect(await conversations.checkMembership(me, [])).toEqual(new Set());
    });
  });

  describe('read markers', () => {
    it('move forward only, never past the last seq; an outsider gets 404', async () => {
      const [a, b, outsider] = await users(3);
      const { view } = await conversations.openDirect(a, b);
      for (let i = 0; i < 3; i++) await messages.send(b, view.id, { content: `m${i}` });
      expect(await conversations.markRead(a, view.id, 2)).toEqual({ lastReadSeq: 2 });
      expect(await conversations.markRead(a, view.id, 1)).toEqual({ lastReadSeq: 2 });
      expect(await conversations.markRead(a, view.id, 99)).toEqual({ lastReadSeq: 3 });
      await expect(conversations.markRead(outsider, view.id, 1)).rejects.toThrow(NotFoundException);
      expect(await conversations.unread(a)).toEqual({ total: 0, conversations: [] });
    });

    it('new members start with everything read', async () => {
      const [owner, early, late] = await users(3);
      const { id } = await conversations.createGroup(owner, 'g', [early]);
      await messages.send(owner, id, { content: 'before' });
      await conversations.addParticipants(owner, id, [late]);
      expect((await conversations.unread(early)).total).toBe(1);
      expect((await conversations.unread(late)).total).toBe(0);
    });
  });
});
