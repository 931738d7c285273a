#!/usr/bin/env node
// `modelgraph`: the CLI, run from its TypeScript sources through tsx (registered
// in this process, so there is no second node process to start).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
