/**
 * The `madoguchi` command line (server/bin/madoguchi.js loads dist/cli.js). The program and its
 * command groups are in cli/: index.ts builds it, one module per group.
 */
export { buildCli, main } from './cli/index.js';
export { PID_FILE } from './ops/pidFile.js';
