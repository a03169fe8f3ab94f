#!/usr/bin/env node
// `npm run client:protocol`: writes client/src/protocol.ts from the compiled server (dist/, which the npm
// script builds first). src/contracts/client-protocol.spec.ts fails when the file is out of date.
'use strict';
require('reflect-metadata');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { buildDocuments, generateClientProtocol } = require('./lib/client-protocol');

const root = join(__dirname, '..');
const dist = (path) => require(join(root, 'dist', 'src', path));

async function main() {
  const documents = await buildDocuments({
    NestFactory: require('@nestjs/core').NestFactory,
    AppModule: dist('app.module').AppModule,
    API_PREFIX: dist('app.setup').API_PREFIX,
    UNPREFIXED_ROUTES: dist('app.setup').UNPREFIXED_ROUTES,
    validateEnvironment: dist('config/environment').validateEnvironment,
    buildOpenApiDocument: dist('common/openapi').buildOpenApiDocument,
    asyncApiDocument: dist('realtime/asyncapi').asyncApiDocument,
    ERROR_CODES: dist('realtime/ws-protocol').ERROR_CODES,
    CLOSE_CODES: dist('realtime/ws-protocol').CLOSE_CODES,
  });
  const target = join(root, 'client', 'src', 'protocol.ts');
  writeFileSync(target, generateClientProtocol(documents));
  console.log(`wrote ${target}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
