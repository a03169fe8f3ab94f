import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { request as httpRequest } from 'node:http';

/** The parts of an OpenAPI 3.0 document this checker reads. */
type Schema = Record<string, any>;
interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }>; headers?: Schema }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; headers?: Record<string, Schema> };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
  body: any;
}

export interface CallOptions {
  token?: string;
  /** Serialised as JSON. */
  body?: unknown;
  /** Sent as is, as application/json (malformed and oversized bodies, on any method). */
  raw?: string;
  /** Instead of application/json (a charset the server refuses). */
  contentType?: string;
}

/**
 * A real HTTP call with node:http rather than fetch, which refuses a body on GET:
 * the body parser runs before every route, so a GET with a bad body is a case too.
 */
export function rawCall(baseUrl: string, method: string, path: string, options: CallOptions = {}) {
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string | number> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(new URL(path, baseUrl), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode!, headers: res.headers as RawResponse['headers'], text, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const SCHEMA_BASE = 'https://parley.test/components/schemas/';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

export interface OperationRef {
  key: string;
  method: string;
  path: string;
  operation: Operation;
  pattern: RegExp;
  params: number;
}

/**
 * Checks actual answers against the document: the status is documented for the
 * operation, the body validates against its schema (ajv, with OpenAPI 3.0's
 * `nullable`; objects are closed, so an undocumented field fails too), the content
 * type is a documented one, required headers are there and every documented header
 * has a value of its schema. Records which statuses each operation was seen to answer.
 */
export class OpenApiConformance {
  readonly operations: OperationRef[];
  readonly seen = new Map<string, Set<string>>();
  /** Operations seen to answer 2xx to a call without a token. */
  readonly publicSuccesses = new Set<string>();
  private readonly problems: string[] = [];
  private readonly ajv: Ajv;
  private readonly validators = new Map<object, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    // Strict: a keyword ajv does not know is a mistake, but for OpenAPI's annotations.
    this.ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    this.ajv.addVocabulary(['example', 'externalDocs', 'xml', 'discriminator']);
    addFormats(this.ajv);
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      this.ajv.addSchema({ ...toJsonSchema(schema), $id: SCHEMA_BASE + name });
    }
    this.operations = Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => {
        const segments = path.split('/').map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : escapeRegExp(s)));
        return {
          key: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          path,
          operation: item[method],
          pattern: new RegExp(`^${segments.join('/')}$`),
          params: (path.match(/\{/g) ?? []).length,
        };
      }),
    );
  }

  /** The operation a request goes to; a literal segment wins over a parameter (as in the router). */
  operationFor(method: string, url: string): OperationRef | undefined {
    const pathname = new URL(url, 'http://x').pathname;
    return this.operations
      .filter((op) => op.method === method && op.pattern.test(pathname))
      .sort((a, b) => a.params - b.params)[0];
  }

  /** Calls the API and checks the answer against the document. */
  async call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<RawResponse> {
    const response = await rawCall(baseUrl, method, path, options);
    this.check(method, path, response, !options.token);
    return response;
  }

  check(method: string, path: string, response: RawResponse, anonymous: boolean): void {
    const where = `${method} ${path} → ${response.status}`;
    const ref = this.operationFor(method, path);
    if (!ref) return void this.problems.push(`${where}: no operation in the document`);
    const status = String(response.status);
    if (!this.seen.has(ref.key)) this.seen.set(ref.key, new Set());
    this.seen.get(ref.key)!.add(status);
    if (anonymous && response.status < 300) this.publicSuccesses.add(ref.key);
    const documented = ref.operation.responses[status] ?? ref.operation.responses[`${status[0]}XX`];
    if (!documented) return void this.problems.push(`${where}: status not documented for ${ref.key}`);

    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const resolved = this.resolveHeader(header);
      const value = response.headers[name.toLowerCase()];
      if (value === undefined) {
        if (resolved.required) this.problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      const typed =
        ['integer', 'number'].includes(resolved.schema?.type) && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      this.validate(`${where}: header ${name}`, resolved.schema ?? {}, typed);
    }

    const contentType = response.headers['content-type']?.split(';')[0].trim();
    if (!documented.content) {
      if (response.text)
        this.problems.push(`${where}: a body where the document has none: ${response.text.slice(0, 200)}`);
      return;
    }
    const media = contentType ? documented.content[contentType] : undefined;
    if (!media) {
      this.problems.push(
        `${where}: content type ${contentType} not documented (${Object.keys(documented.content).join(', ')})`,
      );
      return;
    }
    this.validate(`${where}: body`, media.schema, contentType === 'application/json' ? response.body : response.text);
  }

  /** Everything that did not conform since the last call, emptied. */
  takeProblems(): string[] {
    return this.problems.splice(0);
  }

  private validate(where: string, schema: Schema, value: unknown): void {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema));
      this.validators.set(schema, validate);
    }
    if (!validate(value)) {
      const errors = validate.errors!.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
      this.problems.push(`${where} does not match: ${errors.join('; ')} — ${JSON.stringify(value).slice(0, 300)}`);
    }
  }

  private resolveHeader(header: Schema): Schema {
    if (!header.$ref) return header;
    const name = String(header.$ref).replace('#/components/headers/', '');
    return this.document.components.headers?.[name] ?? {};
  }
}

/**
 * An OpenAPI 3.0 schema as ajv's JSON Schema: refs to components resolve to the
 * schemas added under SCHEMA_BASE, and an object that lists its properties allows
 * no others (the document must say what the API answers, all of it).
 */
function toJsonSchema(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (['example', 'enum', 'default'].includes(key)) out[key] = value;
    else if (key === '$ref' && typeof value === 'string')
      out.$ref = value.replace('#/components/schemas/', SCHEMA_BASE);
    else if (key === 'properties' || key === 'patternProperties')
      out[key] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toJsonSchema(v)]));
    else out[key] = toJsonSchema(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
