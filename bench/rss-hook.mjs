// Loaded with `node --import` into a child process: reports its peak RSS and CPU time when it exits.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `\n@@peakRssMb=${Math.round(u.maxRSS / 1024)}\n@@cpuSeconds=${((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(2)}\n`,
  );
});
