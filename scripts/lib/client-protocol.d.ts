// The types of client-protocol.js, for the TypeScript that imports it (src/contracts/client-protocol.spec.ts).

/** What client/src/protocol.ts is made from. */
export interface ProtocolDocuments {
  openApi: object;
  asyncApi: object;
  /** ws-protocol.ts's ERROR_CODES and CLOSE_CODES. */
  errorCodes: Readonly<Record<string, string>>;
  closeCodes: Readonly<Record<string, number>>;
}

interface PreviewApp {
  setGlobalPrefix(prefix: string, options: { exclude: string[] }): unknown;
  close(): Promise<void>;
}

/** The server's modules that the documents are built with: dist/'s or src/'s. */
export interface ServerModules {
  NestFactory: { create(module: any, options: { preview: boolean; logger: false }): Promise<PreviewApp> };
  AppModule: { forRoot(env: any): unknown };
  API_PREFIX: string;
  UNPREFIXED_ROUTES: string[];
  validateEnvironment(raw: Record<string, string>): unknown;
  buildOpenApiDocument(app: any): object;
  asyncApiDocument(): object;
  ERROR_CODES: Readonly<Record<string, string>>;
  CLOSE_CODES: Readonly<Record<string, number>>;
}

export const COMMAND: string;
export function buildDocuments(server: ServerModules): Promise<ProtocolDocuments>;
export function generateClientProtocol(documents: ProtocolDocuments): string;
/** Maps `#/components/schemas/XDto` to `X`, one of `names`, or throws. */
export function refResolver(names: Set<string>): (ref: string) => string;
/** One schema as a top-level declaration (an interface for an object, else a type alias). */
export function declaration(name: string, schema: object, ref: (ref: string) => string, doc?: string[]): string;
