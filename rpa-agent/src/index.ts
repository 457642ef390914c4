/**
 * madoguchi RPA agent (skeleton). The agent will poll the server's job queue, lease a job, drive
 * the core system's screens with Playwright from a declarative scenario, and report the result
 * with evidence. Only the package and its build exist so far.
 */
export const agentName = 'madoguchi-agent';
