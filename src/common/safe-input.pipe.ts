import { ArgumentMetadata, BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

const MAX_DEPTH = 32;
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Runs before validation on every body, query and path parameter:
 * - NUL bytes: PostgreSQL cannot store U+0000 in text, so a 400 here instead of a
 *   database error (a 500) later;
 * - prototype keys: class-transformer would drop them in silence;
 * - nesting deeper than any DTO has.
 */
@Injectable()
export class SafeInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    // WebSocket payloads come with a numeric param type: call them `data`.
    const root = metadata.data ?? (typeof metadata.type === 'string' ? metadata.type : 'data');
    const problem = findProblem(value, root, 0);
    if (problem) throw new BadRequestException([problem]);
    return value;
  }
}

/** Returns a message naming the first offending field, if any. */
export function findProblem(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'string')
    return value.includes('\u0000') ? `${path} must not contain NUL characters` : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `${path} is nested too deeply`;
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${path} has a property name with a NUL character`;
    if (PROTOTYPE_KEYS.has(key)) return `property ${key} should not exist`;
    const found = findProblem(child, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
