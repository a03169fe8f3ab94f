import { generateSchema } from '@nestjs/swagger';
import { ConversationDto } from '../conversations/dto/conversation.dto';
import { MessageDto, MessageReactionsDto } from '../messages/dto/message.dto';
import { asyncApiDocument } from './asyncapi';
import { componentName, dtoSchemas, refsIn, toJsonSchema } from './asyncapi-schemas';
import { serverOf } from '../common/request-origin';

describe('toJsonSchema (OpenAPI 3.0 -> AsyncAPI/JSON Schema)', () => {
  it('puts null in the type of a nullable scalar, and in its enum', () => {
    expect(toJsonSchema({ type: 'string', format: 'date-time', nullable: true })).toEqual({
      type: ['string', 'null'],
      format: 'date-time',
    });
    expect(toJsonSchema({ type: 'string', enum: ['a', 'b'], nullable: true })).toEqual({
      type: ['string', 'null'],
      enum: ['a', 'b', null],
    });
  });

  it('makes a nullable reference a oneOf with null, in each form @nestjs/swagger writes it', () => {
    const oneOf = [{ $ref: '#/components/schemas/Message' }, { type: 'null' }];
    const ref = { $ref: '#/components/schemas/MessageDto' };
    expect(toJsonSchema({ nullable: true, type: 'object', allOf: [ref] })).toEqual({ oneOf });
    expect(toJsonSchema({ nullable: true, allOf: [ref], description: 'd' })).toEqual({ description: 'd', oneOf });
    expect(toJsonSchema({ nullable: true, ...ref })).toEqual({ oneOf });
    expect(
      toJsonSchema({ oneOf: [ref, { type: 'object', nullable: true, enum: [null], description: 'none' }] }),
    ).toEqual({ oneOf: [oneOf[0], { type: 'null', description: 'none' }] });
    expect(toJsonSchema({ nullable: true, oneOf: [ref] })).toEqual({
      oneOf: [{ oneOf: [{ $ref: '#/components/schemas/Message' }] }, { type: 'null' }],
    });
  });

  it('rewrites $refs, examples and boolean exclusive bounds, however deep', () => {
    expect(
      toJsonSchema({
        type: 'object',
        properties: {
          list: { type: 'array', items: { $ref: '#/components/schemas/ReactionDto' } },
          n: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 9, exclusiveMaximum: false, example: 3 },
        },
      }),
    ).toEqual({
      type: 'object',
      properties: {
        list: { type: 'array', items: { $ref: '#/components/schemas/Reaction' } },
        n: { type: 'number', exclusiveMinimum: 0, maximum: 9, examples: [3] },
      },
    });
  });
});

describe('dtoSchemas', () => {
  const schemas = dtoSchemas([MessageDto, ConversationDto, MessageReactionsDto]);

  it('holds the DTOs and everything they reference, under the contract names', () => {
    expect(Object.keys(schemas).sort()).toEqual([
      'Conversation',
      'Message',
      'MessageReactions',
      'Participant',
      'Reaction',
    ]);
    for (const target of refsIn(schemas)) expect(Object.keys(schemas)).toContain(target.split('/').pop());
  });

  it('has the very fields and required fields of the OpenAPI schemas', () => {
    const openApi = generateSchema(ConversationDto, generateSchema(MessageReactionsDto).schemas).schemas;
    for (const [name, schema] of Object.entries(openApi)) {
      const mine = schemas[componentName(name)] as typeof schema;
      expect(Object.keys(mine.properties!)).toEqual(Object.keys(schema.properties!));
      expect(mine.required).toEqual(schema.required);
    }
    expect(JSON.stringify(schemas)).not.toContain('nullable');
  });

  it('refuses two DTOs that would share a component name', () => {
    class Message {}
    expect(() => dtoSchemas([MessageDto, Message])).toThrow(/would both be Message/);
  });
});

describe('asyncApiDocument', () => {
  it('has a payload for every message and the server it is given', () => {
    const document = asyncApiDocument({ host: 'chat.example.org', protocol: 'wss' }) as any;
    expect(document.servers).toEqual({ parley: { host: 'chat.example.org', protocol: 'wss', pathname: '/ws' } });
    for (const message of Object.values<any>(document.channels.ws.messages)) {
      expect(message.payload.properties.data).toEqual(expect.any(Object));
    }
    for (const target of refsIn(document)) {
      const [, ...path] = target.split('/');
      expect(path.reduce((node: any, key) => node?.[key], document)).toBeDefined();
    }
  });
});

describe('serverOf', () => {
  const request = (fields: object) => ({ socket: { localAddress: '::1', localPort: 3000 }, ...fields }) as any;

  it('takes host and scheme from the request', () => {
    expect(serverOf(request({ host: 'a.example:8443', protocol: 'https' }))).toEqual({
      host: 'a.example:8443',
      protocol: 'wss',
    });
    expect(serverOf(request({ host: '[::1]:3000', protocol: 'http' }))).toEqual({ host: '[::1]:3000', protocol: 'ws' });
  });

  it("falls back to the socket's address without a usable host", () => {
    expect(serverOf(request({ host: undefined, protocol: 'http' }))).toEqual({ host: '[::1]:3000', protocol: 'ws' });
    expect(serverOf(request({ host: 'x"y', protocol: 'http' })).host).toBe('[::1]:3000');
  });
});
