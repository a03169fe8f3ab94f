import { normalizeEmoji } from './emoji';

describe('normalizeEmoji', () => {
  it.each([
    ['👍', '👍'],
    ['👍🏽', '👍🏽'],
    ['👨‍👩‍👧', '👨‍👩‍👧'],
    ['🇫🇷', '🇫🇷'],
    ['❤️', '❤'],
    ['❤', '❤'],
    ['#️⃣', '#️⃣'],
    ['#⃣', '#️⃣'],
    ['🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'],
  ])('accepts %s as %s', (input, canonical) => {
    expect(normalizeEmoji(input)).toBe(canonical);
  });

  it.each(['', 'a', '1', ':+1:', '👍👍', '👍a', '🇫', '\u0000', ' 👍', '<b>', 'x'.repeat(100), '\u200D'])(
    'rejects %j',
    (input) => {
      expect(normalizeEmoji(input)).toBeUndefined();
    },
  );
});
