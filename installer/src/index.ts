/**
 * madoguchi installer (skeleton). It will build the offline release bundle (compiled server and
 * agent, production node_modules, default config, docs, manifest with SHA-256 checksums) that
 * IT installers deploy with Ansible. Only the package and its build exist so far.
 */
export const bundleName = 'madoguchi-bundle';
