import { BadRequestException } from '@nestjs/common';
import { SafeInputPipe } from './safe-input.pipe';

describe('SafeInputPipe', () => {
  const pipe = new SafeInputPipe();
  const body = { type: 'body' as const };

  it('passes ordinary values through untouched', () => {
    const value = { a: 'text', b: [1, 'two', { c: null }], d: true };
    expect(pipe.transform(value, body)).toBe(value);
    expect(pipe.transform('plain', { type: 'param', data: 'id' })).toBe('plain');
  });

  it.each([
    ['a NUL in a string', { name: 'a\u0000b' }, 'body.name must not contain NUL characters'],
    ['a NUL deep inside', { a: [{ b: 'x\u0000' }] }, 'body.a.0.b must not contain NUL characters'],
    ['a NUL in a key', { ['k\u0000']: 1 }, 'body has a property name with a NUL character'],
    ['__proto__', JSON.parse('{"__proto__": {"admin": true}}'), 'property __proto__ should not exist'],
    ['constructor', { constructor: { prototype: {} } }, 'property constructor should not exist'],
  ])('rejects %s', (_case, value, message) => {
    expect(() => pipe.transform(value, body)).toThrow(BadRequestException);
    try {
      pipe.transform(value, body);
    } catch (error) {
      expect((error as BadRequestException).getResponse()).toMatchObject({ message: [message] });
    }
  });

  it('rejects nesting deeper than any DTO has', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => pipe.transform({ deep }, body)).toThrow(BadRequestException);
    try {
      pipe.transform({ deep }, body);
    } catch (error) {
      expect(JSON.stringify((error as BadRequestException).getResponse())).toContain('is nested too deeply');
    }
  });

  it('names a query parameter by its name', () => {
    expect(() => pipe.transform('a\u0000', { type: 'query', data: 'query' })).toThrow(BadRequestException);
  });

  it('leaves custom (decorator) arguments alone', () => {
    expect(pipe.transform({ id: 'x\u0000' }, { type: 'custom' })).toEqual({ id: 'x\u0000' });
  });
});
