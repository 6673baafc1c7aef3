#!/usr/bin/env node
// Thin shim: the CLI is written in TypeScript and compiled to dist/ by `npm run build` (run by `npm ci`).
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli(process.argv);
