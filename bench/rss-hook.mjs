// Loaded with `node --import` into a child process: reports its peak RSS when it exits.
process.on('exit', () => {
  process.stderr.write(`\n@@peakRssMb=${Math.round(process.resourceUsage().maxRSS / 1024)}\n`);
});
