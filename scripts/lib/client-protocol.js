'use strict';
// client/src/protocol.ts, the SDK's wire types, made from the server's own documents (OpenAPI, AsyncAPI)
// and ws-protocol.ts's codes, so that no type is written twice. Plain CommonJS without dependencies: the
// runner (scripts/generate-client-protocol.js) and a unit test (src/contracts/client-protocol.spec.ts) share it.

const COMMAND = 'npm run client:protocol';
/** .prettierrc.json's printWidth: the text is laid out as prettier lays it out, so format:check passes. */
const WIDTH = 120;
/** What the server is built from in preview mode: fixed, so the caller's environment and .env change nothing. */
const PREVIEW_ENV = { NODE_ENV: 'development', DATABASE_URL: 'postgres://preview@127.0.0.1:1/none' };

/**
 * Both documents and the codes, from the server's modules (dist/'s for the runner, src/'s in the test).
 * Preview mode builds the module graph without instantiating a provider: no database, no Redis.
 */
async function buildDocuments(server) {
  const env = server.validateEnvironment(PREVIEW_ENV);
  const app = await server.NestFactory.create(server.AppModule.forRoot(env), { preview: true, logger: false });
  try {
    app.setGlobalPrefix(server.API_PREFIX, { exclude: server.UNPREFIXED_ROUTES });
    return {
      openApi: server.buildOpenApiDocument(app),
      asyncApi: server.asyncApiDocument(),
      errorCodes: server.ERROR_CODES,
      closeCodes: server.CLOSE_CODES,
    };
  } finally {
    await app.close();
  }
}

// Type nodes: printed by `inline` and `annotate` below.
const named = (text) => ({ kind: 'name', text });
const UNKNOWN = named('unknown');
const NULL = named('null');

function union(members) {
  const flat = [];
  const seen = new Set();
  for (const member of members.flatMap((m) => (m.kind === 'union' ? m.members : [m]))) {
    const key = inline(member, 0);
    if (seen.has(key)) continue;
    seen.add(key);
    flat.push(member);
  }
  return flat.length === 1 ? flat[0] : { kind: 'union', members: flat };
}

function intersection(members) {
  return members.length === 1 ? members[0] : { kind: 'intersection', members };
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `UserDto` -> `User`, as the AsyncAPI document and docs/protocol.md name them. */
function interfaceName(component) {
  return component.endsWith('Dto') && component.length > 3 ? component.slice(0, -3) : component;
}

/** Resolves `#/components/schemas/X` against the interfaces being written. */
function refResolver(names) {
  return (ref) => {
    const name = interfaceName(String(ref).split('/').pop());
    if (!String(ref).startsWith('#/components/schemas/') || !names.has(name))
      throw new Error(`client protocol: unresolved $ref ${ref}`);
    return name;
  };
}

/** A JSON Schema (draft-07, or OpenAPI 3.0's dialect with `nullable`) as a type node. */
function typeOf(schema, ref) {
  if (schema === false) return named('never');
  if (!isObject(schema)) return UNKNOWN;
  let node;
  if (typeof schema.$ref === 'string') node = named(ref(schema.$ref));
  else if ('const' in schema) node = literal(schema.const);
  else if (Array.isArray(schema.enum)) node = union(schema.enum.map(literal));
  else if (Array.isArray(schema.oneOf ?? schema.anyOf))
    node = union((schema.oneOf ?? schema.anyOf).map((s) => typeOf(s, ref)));
  else if (Array.isArray(schema.allOf)) node = intersection(schema.allOf.map((s) => typeOf(s, ref)));
  else if (Array.isArray(schema.type)) node = union(schema.type.map((type) => typeOf({ ...schema, type }, ref)));
  else node = byType(schema, ref);
  return schema.nullable === true ? union([node, NULL]) : node;
}

function byType(schema, ref) {
  switch (schema.type) {
    case 'string':
      return named('string');
    case 'integer':
    case 'number':
      return named('number');
    case 'boolean':
      return named('boolean');
    case 'null':
      return NULL;
    case 'array':
      return {
        kind: 'array',
        item: Array.isArray(schema.items) ? union(schema.items.map((s) => typeOf(s, ref))) : typeOf(schema.items, ref),
      };
    case 'object':
      return objectType(schema, ref);
    default:
      return schema.properties || schema.additionalProperties !== undefined ? objectType(schema, ref) : UNKNOWN;
  }
}

function objectType(schema, ref) {
  const properties = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (!properties.length) {
    if (extra === false) return named('Record<string, never>');
    return { kind: 'record', value: isObject(extra) && Object.keys(extra).length ? typeOf(extra, ref) : UNKNOWN };
  }
  const required = new Set(schema.required ?? []);
  return {
    kind: 'object',
    members: properties.map(([key, property]) => ({
      key,
      optional: !required.has(key),
      doc: docOf(property),
      type: typeOf(property, ref),
    })),
    // Properties need not match a schema'd index signature's type: `unknown` is the one that always compiles.
    index: extra === true || isObject(extra) ? UNKNOWN : undefined,
  };
}

/** The doc comment's lines: the description, then the format and default that the type cannot say. */
function docOf(schema) {
  if (!isObject(schema)) return [];
  const lines = typeof schema.description === 'string' ? schema.description.split('\n') : [];
  if (typeof schema.format === 'string') lines.push(`@format ${schema.format}`);
  if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`);
  if (schema.deprecated === true) lines.push('@deprecated');
  return lines;
}

function literal(value) {
  if (value === null) return NULL;
  if (typeof value === 'string') return named(quote(value));
  if (typeof value === 'number' || typeof value === 'boolean') return named(String(value).replace('e+', 'e'));
  throw new Error(`client protocol: no literal type for ${JSON.stringify(value)}`);
}

/** A string literal as prettier writes it: single quotes unless that needs more escapes than double ones. */
function quote(text) {
  const singles = (text.match(/'/g) ?? []).length;
  const doubles = (text.match(/"/g) ?? []).length;
  const json = JSON.stringify(text);
  if (singles > doubles) return json;
  // JSON's escapes stay; its escaped double quotes are not needed, single quotes are.
  return `'${json.slice(1, -1).replace(/\\.|'/g, (m) => (m === '\\"' ? '"' : m === "'" ? "\\'" : m))}'`;
}

function propertyKey(key) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : quote(key);
}

const spaces = (n) => ' '.repeat(n);

function inline(node, indent) {
  switch (node.kind) {
    case 'name':
      return node.text;
    case 'array': {
      const item = inline(node.item, indent);
      return node.item.kind === 'union' || node.item.kind === 'intersection' ? `(${item})[]` : `${item}[]`;
    }
    case 'union':
      return node.members.map((m) => inline(m, indent)).join(' | ');
    case 'intersection':
      return node.members.map((m) => inline(m, indent)).join(' & ');
    case 'record': {
      const value = inline(node.value, indent);
      if (!value.includes('\n')) return `Record<string, ${value}>`;
      return block({ members: [], index: node.value }, indent);
    }
    case 'object':
      return block(node, indent);
  }
  throw new Error(`client protocol: unknown type node ${node.kind}`);
}

/** An object type, always expanded (prettier keeps it so), its closing brace at `indent`. */
function block(node, indent) {
  const inner = indent + 2;
  const lines = ['{'];
  for (const member of node.members) {
    lines.push(...comment(member.doc, inner));
    lines.push(
      annotate(`${spaces(inner)}${propertyKey(member.key)}${member.optional ? '?' : ''}:`, member.type, inner),
    );
  }
  if (node.index) lines.push(annotate(`${spaces(inner)}[key: string]:`, node.index, inner));
  lines.push(`${spaces(indent)}}`);
  return lines.join('\n');
}

const isBlock = (node) => node.kind === 'object' || (node.kind === 'record' && inline(node, 0).includes('\n'));

/**
 * `prefix type;`, prefix being the line up to the type (`  key?:`, `export type X =`) and `indent` its
 * indentation. A union that does not fit goes on the next line, and one member per line if it does not fit
 * there either; an object with null stays hugged (`{...} | null`): as prettier lays them out.
 */
function annotate(prefix, node, indent, end = ';') {
  if (node.kind !== 'union') return `${prefix} ${inline(node, indent)}${end}`;
  const members = node.members.map((m) => inline(m, indent));
  const next = indent + 2;
  if (!members.some((m) => m.includes('\n'))) {
    const one = members.join(' | ');
    if (prefix.length + 1 + one.length + end.length <= WIDTH) return `${prefix} ${one}${end}`;
    if (next + one.length + end.length <= WIDTH) return `${prefix}\n${spaces(next)}${one}${end}`;
  } else if (
    node.members.length === 2 &&
    node.members.some(isBlock) &&
    node.members.some((m) => m.kind === 'name' && (m.text === 'null' || m.text === 'undefined'))
  ) {
    return `${prefix} ${members.join(' | ')}${end}`;
  }
  const lines = node.members.map((m) => `${spaces(next)}| ${inline(m, next + 2)}`);
  return `${prefix}\n${lines.join('\n')}${end}`;
}

/** A doc comment at `indent`: on one line when it fits, else wrapped at WIDTH. */
function comment(lines, indent) {
  lines = lines.map((line) => line.replace(/\*\//g, '*\\/').trimEnd());
  while (lines.length && !lines[lines.length - 1]) lines.pop();
  if (!lines.length) return [];
  const pad = spaces(indent);
  if (lines.length === 1 && indent + 7 + lines[0].length <= WIDTH) return [`${pad}/** ${lines[0]} */`];
  const out = [`${pad}/**`];
  for (const line of lines)
    for (const part of wrap(line, WIDTH - indent - 3)) out.push(part ? `${pad} * ${part}` : `${pad} *`);
  out.push(`${pad} */`);
  return out;
}

function wrap(line, width) {
  const out = [];
  let current = '';
  for (const word of line.split(/ +/)) {
    if (current && current.length + 1 + word.length > width) {
      out.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  out.push(current);
  return out;
}

/** One top-level declaration of a schema: an interface for an object, else a type alias. */
function declaration(name, schema, ref, doc = docOf(schema)) {
  const node = typeOf(schema, ref);
  const head = comment(doc, 0);
  const text =
    node.kind === 'object' ? `export interface ${name} ${block(node, 0)}` : annotate(`export type ${name} =`, node, 0);
  return [...head, text].join('\n');
}

function constArray(name, values) {
  const items = values.map((value) => inline(literal(value), 0));
  const one = `export const ${name} = [${items.join(', ')}] as const;`;
  if (one.length <= WIDTH) return one;
  return [`export const ${name} = [`, ...items.map((item) => `  ${item},`), '] as const;'].join('\n');
}

function constObject(name, object) {
  const entries = Object.entries(object).map(([key, value]) => `  ${propertyKey(key)}: ${inline(literal(value), 0)},`);
  return [`export const ${name} = {`, ...entries, '} as const;'].join('\n');
}

/** Follows a local `$ref` (`#/a/b`) to what it points at. */
function deref(document, value) {
  if (!isObject(value) || typeof value.$ref !== 'string') return value;
  if (!value.$ref.startsWith('#/'))
    throw new Error(`client protocol: only local $refs are followed, not ${value.$ref}`);
  let target = document;
  for (const part of value.$ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (target === undefined) throw new Error(`client protocol: unresolved $ref ${value.$ref}`);
  return deref(document, target);
}

/** The interfaces: one per OpenAPI component schema, the AsyncAPI ones being the same DTOs. */
function components(openApi, asyncApi) {
  const schemas = openApi.components?.schemas ?? {};
  const owners = new Map();
  for (const component of Object.keys(schemas)) {
    const name = interfaceName(component);
    if (owners.has(name))
      throw new Error(`client protocol: ${owners.get(name)} and ${component} would both be ${name}`);
    owners.set(name, component);
  }
  const ref = refResolver(new Set(owners.keys()));
  const declarations = new Map(
    [...owners].map(([name, component]) => [name, declaration(name, schemas[component], ref)]),
  );
  // One source: a frame's Message must be the REST Message, field for field.
  for (const [component, schema] of Object.entries(asyncApi.components?.schemas ?? {})) {
    const name = interfaceName(component);
    if (!declarations.has(name))
      throw new Error(`client protocol: AsyncAPI schema ${component} is not in the OpenAPI document`);
    if (declaration(name, schema, ref) !== declarations.get(name))
      throw new Error(`client protocol: AsyncAPI schema ${component} differs from the OpenAPI one`);
  }
  return { declarations: [...declarations.values()], ref };
}

/** The AsyncAPI messages, by direction (`client.x` / `server.x`), in document order. */
function events(asyncApi, ref) {
  const client = [];
  const server = [];
  for (const channel of Object.values(asyncApi.channels ?? {})) {
    for (const [key, value] of Object.entries(deref(asyncApi, channel).messages ?? {})) {
      const message = deref(asyncApi, value);
      const envelope = deref(asyncApi, message.payload);
      const name = envelope?.properties?.event?.const ?? message.name;
      if (typeof name !== 'string' || !envelope?.properties?.data)
        throw new Error(`client protocol: message ${key} is no {event, data} envelope`);
      const side = key.startsWith('client.') ? client : key.startsWith('server.') ? server : undefined;
      if (!side) throw new Error(`client protocol: message ${key} is neither client.* nor server.*`);
      const stored = 'pos' in envelope.properties;
      const doc = typeof message.description === 'string' ? message.description.split('\n') : [];
      if (stored) doc.push('A stored change: its frame also carries `conversationId` and `pos`.');
      side.push({
        name,
        stored,
        data: envelope.properties.data,
        member: { key: name, optional: false, doc, type: typeOf(envelope.properties.data, ref) },
      });
    }
  }
  return { client, server };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function jsonSchemaOf(content) {
  if (!isObject(content)) return undefined;
  const media = content['application/json'] ?? Object.values(content)[0];
  return isObject(media) ? (media.schema ?? {}) : undefined;
}

/** One member of RestOperations: `{params?, query?, body?, response}`, leaving out what the operation has not. */
function operation(openApi, method, path, op, ref) {
  const members = [];
  const parameters = [...(openApi.paths[path].parameters ?? []), ...(op.parameters ?? [])].map((p) =>
    deref(openApi, p),
  );
  for (const [where, key] of [
    ['path', 'params'],
    ['query', 'query'],
  ]) {
    const fields = parameters
      .filter((p) => p.in === where)
      .map((p) => ({
        key: p.name,
        optional: where !== 'path' && p.required !== true,
        doc: [
          ...(typeof p.description === 'string' ? p.description.split('\n') : []),
          ...docOf({ ...p.schema, description: undefined }),
        ],
        type: typeOf(p.schema, ref),
      }));
    // All optional: the whole key may be left out (request(key) without {query}).
    if (fields.length)
      members.push({
        key,
        optional: fields.every((f) => f.optional),
        doc: [],
        type: { kind: 'object', members: fields },
      });
  }
  if (op.requestBody) {
    const body = deref(openApi, op.requestBody);
    members.push({
      key: 'body',
      optional: body.required !== true,
      doc: [],
      type: typeOf(jsonSchemaOf(body.content) ?? {}, ref),
    });
  }
  const answers = Object.entries(op.responses ?? {})
    .filter(([status]) => /^2(\d\d|XX)$/i.test(status))
    .map(([, response]) => jsonSchemaOf(deref(openApi, response).content));
  const response = answers.length
    ? union(answers.map((schema) => (schema ? typeOf(schema, ref) : named('void'))))
    : named('void');
  members.push({ key: 'response', optional: false, doc: [], type: response });
  const doc = [op.summary, op.description].filter((text) => typeof text === 'string' && text);
  return {
    key: `${method.toUpperCase()} ${path}`,
    optional: false,
    doc: doc.flatMap((text, i) => (i ? ['', ...text.split('\n')] : text.split('\n'))),
    type: { kind: 'object', members },
  };
}

/**
 * The text of client/src/protocol.ts. `documents`: `{openApi, asyncApi, errorCodes, closeCodes}`, the last two
 * ws-protocol.ts's ERROR_CODES and CLOSE_CODES (the AsyncAPI document has the error codes' values only).
 */
function generateClientProtocol({ openApi, asyncApi, errorCodes, closeCodes }) {
  const { declarations, ref } = components(openApi, asyncApi);
  const { client, server } = events(asyncApi, ref);
  checkErrorCodes(server, errorCodes);
  const operations = [];
  for (const [path, item] of Object.entries(openApi.paths ?? {})) {
    for (const method of Object.keys(item).filter((key) => METHODS.includes(key)))
      operations.push(operation(openApi, method, path, item[method], ref));
  }
  const interfaceOf = (name, members) => `export interface ${name} ${block({ members }, 0)}`;
  const sections = [
    [
      `// Generated by \`${COMMAND}\` (scripts/generate-client-protocol.js) from the server's OpenAPI and AsyncAPI`,
      '// documents and src/realtime/ws-protocol.ts. Do not edit: change the server and run it again.',
    ].join('\n'),
    [
      '/** Events a client sends (the keys of ClientEvents). */',
      constArray(
        'CLIENT_EVENTS',
        client.map((e) => e.name),
      ),
    ].join('\n'),
    [
      '/** Events the server sends (the keys of ServerEvents). */',
      constArray(
        'SERVER_EVENTS',
        server.map((e) => e.name),
      ),
    ].join('\n'),
    [
      '/** Server events that are stored changes: their frames also carry `conversationId` and `pos`. */',
      constArray(
        'STORED_CHANGE_EVENTS',
        server.filter((e) => e.stored).map((e) => e.name),
      ),
    ].join('\n'),
    ['/** `code` of an `error` frame. */', constObject('ERROR_CODES', errorCodes)].join('\n'),
    ['/** Close codes of the socket. */', constObject('CLOSE_CODES', closeCodes)].join('\n'),
    [
      'export type ClientEventName = (typeof CLIENT_EVENTS)[number];',
      'export type ServerEventName = (typeof SERVER_EVENTS)[number];',
      'export type StoredChangeEvent = (typeof STORED_CHANGE_EVENTS)[number];',
      'export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];',
    ].join('\n'),
    ...declarations,
    [
      '/** `data` of each client event: a frame is `{event, data}`. */',
      interfaceOf(
        'ClientEvents',
        client.map((e) => e.member),
      ),
    ].join('\n'),
    [
      '/** `data` of each server event: a frame is `{event, data}`. */',
      interfaceOf(
        'ServerEvents',
        server.map((e) => e.member),
      ),
    ].join('\n'),
    [
      '/**',
      " * Every REST operation, by `'METHOD /path'` as in the OpenAPI document: `params` (path) and `query` are",
      ' * present only when the operation has some, optional when all their fields are; `body` only when it takes one;',
      ' * `response` is the 2xx answer (`void`: none).',
      ' */',
      interfaceOf('RestOperations', operations),
    ].join('\n'),
  ];
  return `${sections.join('\n\n')}\n`;
}

/** ERROR_CODES is the source of the `error` frame's codes: the document must list the same ones. */
function checkErrorCodes(serverEvents, errorCodes) {
  const error = serverEvents.find((event) => event.name === 'error');
  const listed = JSON.stringify(error?.data?.properties?.code?.enum);
  const expected = JSON.stringify(Object.values(errorCodes));
  if (error && listed !== expected)
    throw new Error(`client protocol: the error frame's codes ${listed} are not ERROR_CODES' ${expected}`);
}

module.exports = { buildDocuments, generateClientProtocol, declaration, refResolver, COMMAND };
