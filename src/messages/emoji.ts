/**
 * What a reaction may be: exactly one emoji, as one user-perceived character
 * (grapheme): pictographs with their skin tones and ZWJ sequences, flags, keycaps.
 * U+FE0F (emoji presentation) is dropped so that "❤" and "❤️" count as one,
 * except in keycaps, whose fully-qualified form keeps it ("#️⃣").
 */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[#*0-9]\uFE0F\u20E3)/u;
const ALLOWED =
  /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200D\uFE0F\u20E3#*0-9\u{E0020}-\u{E007F}]+$/u;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

export const EMOJI_MAX_LENGTH = 32;

/** The canonical form of `input`, or undefined when it is not a single emoji. */
export function normalizeEmoji(input: string): string | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > EMOJI_MAX_LENGTH * 2) return undefined;
  const emoji = input
    .normalize('NFC')
    .replace(/\uFE0F/g, '')
    .replace(/^([#*0-9])\u20E3$/, '$1\uFE0F\u20E3');
  if (!emoji || emoji.length > EMOJI_MAX_LENGTH || !EMOJI.test(emoji) || !ALLOWED.test(emoji)) return undefined;
  let graphemes = 0;
  for (const _ of segmenter.segment(emoji)) if (++graphemes > 1) return undefined;
  return emoji;
}
