/**
 * madoguchi installer: builds the offline release bundle (compiled server and agent, production
 * node_modules, this machine's node, default config, docs, a manifest with SHA-256 checksums and
 * the install/upgrade/verify scripts in installer/scripts) that IT installers deploy with Ansible.
 */
export { archiveName, buildBundle, finishRelease, repackRelease, topDirName, PLATFORM } from './bundle.js';
export { readManifest, type Manifest } from './manifest.js';
