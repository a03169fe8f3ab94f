import { Transform } from 'class-transformer';

/** Lower-cases strings and leaves anything else for the validators to reject. */
export const ToLowerCase = () => Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value));

/** Lower-cases each string of an array (ids compared as strings); anything else is left for the validators. */
export const ToLowerCaseEach = () =>
  Transform(({ value }) =>
    Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item.toLowerCase() : item)) : value,
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
