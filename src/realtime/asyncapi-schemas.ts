import type { Type } from '@nestjs/common';
import { generateSchema } from '@nestjs/swagger';

/** A JSON Schema (draft-07, the base of AsyncAPI 3's Schema Object), as plain data. */
export type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** `MessageDto` -> `Message`: the names of docs/protocol.md §6, which the AsyncAPI document has always used. */
export function componentName(dto: Type | string): string {
  const name = typeof dto === 'string' ? dto : dto.name;
  return name.endsWith('Dto') && name.length > 3 ? name.slice(0, -3) : name;
}

/** A reference to a DTO's component schema. */
export function dtoRef(dto: Type): { $ref: string } {
  return { $ref: `${COMPONENTS}${componentName(dto)}` };
}

/**
 * The component schemas of these DTOs and of every DTO they reference, keyed by
 * component name: made by @nestjs/swagger's own `generateSchema` from the same
 * @ApiProperty metadata as the OpenAPI document (so the two cannot drift), then
 * turned from OpenAPI 3.0 into JSON Schema, which AsyncAPI 3 schemas are.
 */
export function dtoSchemas(dtos: Type[]): Record<string, JsonSchema> {
  const openApi: Record<string, JsonSchema> = {};
  for (const dto of dtos) Object.assign(openApi, generateSchema(dto, openApi).schemas);
  const result: Record<string, JsonSchema> = {};
  const owners = new Map<string, string>();
  for (const [name, schema] of Object.entries(openApi)) {
    const component = componentName(name);
    const owner = owners.get(component);
    if (owner !== undefined) throw new Error(`AsyncAPI: ${owner} and ${name} would both be ${component}`);
    owners.set(component, name);
    result[component] = toJsonSchema(schema);
  }
  for (const schema of Object.values(result)) {
    for (const target of refsIn(schema)) {
      if (!(target.slice(COMPONENTS.length) in result)) throw new Error(`AsyncAPI: unresolved $ref ${target}`);
    }
  }
  return result;
}

/** Keywords that describe rather than constrain: they stay beside a nullable wrapper. */
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly'];

/**
 * One OpenAPI 3.0 schema as JSON Schema draft-07: `nullable` becomes `null` in
 * `type` (and in `enum`), or `oneOf [..., {type: null}]` around a reference;
 * `example` becomes `examples`; boolean `exclusiveMinimum/Maximum` become numbers;
 * $refs point at the AsyncAPI components.
 */
export function toJsonSchema(input: unknown): JsonSchema {
  if (!isObject(input)) return input as JsonSchema;
  const { nullable, example, ...schema } = input as JsonSchema & { nullable?: boolean; example?: unknown };
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') out.$ref = COMPONENTS + componentName(value.split('/').pop()!);
    else if (key === 'properties' || key === 'patternProperties') out[key] = mapValues(value, toJsonSchema);
    else if (key === 'items' || key === 'not' || (key === 'additionalProperties' && isObject(value))) {
      out[key] = Array.isArray(value) ? value.map(toJsonSchema) : toJsonSchema(value);
    } else if (key === 'allOf' || key === 'oneOf' || key === 'anyOf') out[key] = (value as unknown[]).map(toJsonSchema);
    else out[key] = value;
  }
  if (example !== undefined && out.examples === undefined) out.examples = [example];
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[exclusive] !== 'boolean') continue;
    if (out[exclusive] && out[bound] !== undefined) out[exclusive] = out[bound];
    else delete out[exclusive];
    if (out[exclusive] !== undefined) delete out[bound];
  }
  return nullable === true ? orNull(out) : out;
}

function orNull(schema: JsonSchema): JsonSchema {
  const composite = ['$ref', 'allOf', 'oneOf', 'anyOf', 'not'].some((key) => key in schema);
  if (!composite && schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const out: JsonSchema = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    // OpenAPI 3.0 has no null type, so "null only" is spelt {type: object, nullable: true, enum: [null]}.
    if (Array.isArray(out.enum) && out.enum.length === 1 && out.enum[0] === null)
      return annotated(out, { type: 'null' });
    return out;
  }
  const outer: JsonSchema = {};
  let inner: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) (ANNOTATIONS.includes(key) ? outer : inner)[key] = value;
  // @nestjs/swagger writes a nullable DTO as {type: object, allOf: [{$ref}]}: the $ref alone says as much.
  const { type, allOf, ...rest } = inner;
  if (Array.isArray(allOf) && allOf.length === 1 && (type === undefined || type === 'object') && !keys(rest)) {
    inner = allOf[0] as JsonSchema;
  }
  return { ...outer, oneOf: [inner, { type: 'null' }] };
}

/** `schema`'s annotations on `core`. */
function annotated(schema: JsonSchema, core: JsonSchema): JsonSchema {
  return { ...Object.fromEntries(Object.entries(schema).filter(([key]) => ANNOTATIONS.includes(key))), ...core };
}

/** Every $ref inside a schema. */
export function refsIn(schema: unknown): string[] {
  if (Array.isArray(schema)) return schema.flatMap(refsIn);
  if (!isObject(schema)) return [];
  return Object.entries(schema).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [value] : refsIn(value),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function keys(value: object): number {
  return Object.keys(value).length;
}

function mapValues(value: unknown, map: (v: unknown) => JsonSchema): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, map(v)]));
}
