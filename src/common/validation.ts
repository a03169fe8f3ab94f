import { Transform } from 'class-transformer';

/**
 * Lower-cases the ASCII letters A-Z and nothing else. Full Unicode lower-casing
 * folds some other characters into ASCII (U+212A KELVIN SIGN becomes "k", U+0130
 * becomes "i" and a combining dot), so a look-alike would pass the validators that
 * run after it; folded this way, every other character reaches them as sent.
 */
export function asciiLowerCase(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** ASCII-lower-cases strings (see asciiLowerCase) and leaves anything else for the validators to reject. */
export const ToAsciiLowerCase = () =>
  Transform(({ value }) => (typeof value === 'string' ? asciiLowerCase(value) : value));

/** The same for each string of an array (ids compared as strings); anything else is left for the validators. */
export const ToAsciiLowerCaseEach = () =>
  Transform(({ value }) =>
    Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? asciiLowerCase(item) : item)) : value,
  );

/** Trims strings and leaves anything else for the validators to reject. */
export const Trim = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

/** A single-line text: no control characters (C0, DEL, C1), newlines included. */
export const SINGLE_LINE_TEXT = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** Digits-only strings become integers; anything else ("", "1e3", "abc", arrays) is left for IsInt to reject. */
export const ToInt = () =>
  Transform(({ value }) => (typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value));

/** The largest seq a PostgreSQL integer column holds. */
export const MAX_SEQ = 2_147_483_647;
