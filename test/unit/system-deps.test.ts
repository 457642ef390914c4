import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/paths.js';

const list = (purpose: string): string[] => {
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts/ensure-system-deps.sh'), '--list', purpose], { encoding: 'utf8' });
  expect(r.status, r.stderr).to.equal(0);
  return r.stdout.trim().split('\n');
};

/** scripts/ensure-system-deps.sh is the one list of Debian packages; the manual and Ansible repeat it exactly. */
describe('the Debian packages of the server: one list', () => {
  const server = list('server');

  it('lists the server packages without a compiler (the bundle carries node and compiled modules), with upsmon', () => {
    expect(server).to.include.members(['openssl', 'fonts-ipamj-mincho', 'nut-client']);
    expect(server).to.not.include.members(['g++', 'make', 'python3']);
    expect(list('test')).to.include.members(server);
  });

  it('docs/operations.md shows the install command with exactly that list', () => {
    const manual = readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
    expect(manual).to.contain(`sudo apt-get install -y --no-install-recommends ${server.join(' ')}\n`);
    expect(manual).to.contain('ensure-system-deps.sh --list server');
  });

  it('the Ansible role madoguchi_server installs the same packages', () => {
    const vars = parse(readFileSync(path.join(repoRoot, 'ansible/roles/madoguchi_server/vars/main.yml'), 'utf8')) as {
      madoguchi_server_packages: string[];
    };
    expect(vars.madoguchi_server_packages).to.deep.equal(server);
  });
});
