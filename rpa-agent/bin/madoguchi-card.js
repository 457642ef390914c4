#!/usr/bin/env node
// Launcher kept in the repository so that the bin link exists before the first build.
const { main } = await import('../dist/card/cli.js');
await main(process.argv);
