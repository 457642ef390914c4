#!/usr/bin/env -S node --max-old-space-size=192
// Launcher kept in the repository so that the bin link exists before the first build. The heap
// cap keeps a million-row load near 250 MB: V8 otherwise lets garbage grow the process well past
// what it holds alive. Start it with the same flag when running it through `node` directly.
const { main } = await import('../dist/cli.js');
await main(process.argv);
