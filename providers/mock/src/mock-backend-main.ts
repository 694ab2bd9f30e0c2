#!/usr/bin/env node
// Runs the mock backend as a process of its own (docker-compose.yml; the dev stack runs it in-process).
import { Command, Option } from 'commander';
import { ConfigProblems } from '@vk-ts/core';
import { MockBackendServer } from './mock-backend-server.ts';

const program = new Command('vk-mock-backend')
  .description('The mock provider\'s backend: an in-memory stand-in for a cloud container service.')
  .addOption(new Option('--host <host>', 'listen address').default('127.0.0.1').env('MOCK_BACKEND_HOST'))
  .addOption(new Option('--port <port>', 'listen port (0 = any free port)').default(7070).env('MOCK_BACKEND_PORT'));
program.parse();
const opts = program.opts<{ host: string; port: string | number }>();
const problems = new ConfigProblems();
const port = problems.integer('--port', opts.port, 0, 65535);
try {
  problems.throwIfAny('mock backend configuration');
} catch (err) {
  process.stderr.write(`vk-mock-backend: ${(err as Error).message}\n`);
  process.exit(2);
}
const server = new MockBackendServer();
const url = await server.listen(port, opts.host);
process.stdout.write(`${JSON.stringify({ event: 'ready', url })}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
