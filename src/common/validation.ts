import { Transform } from 'class-transformer';

/** Lower-cases strings and leaves anything else for the validators to reject. */
export const ToLowerCase = () => Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value));

/** Trims strings and leaves anything else for the validators to reject. */
export const Trim = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

/** A single-line text: no control characters (C0, DEL, C1), newlines included. */
export const SINGLE_LINE_TEXT = /^[^\u0000-\u001f\u007f-\u009f]*$/;
