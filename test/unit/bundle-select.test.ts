import { expect } from 'chai';
import { keepInPackage } from '../../installer/src/select.js';

/** Which files of an installed package the offline bundle keeps. */
describe('bundle: files kept from a package', () => {
  it('keeps JavaScript a package ships under build/ (TypeBox: build/cjs, build/esm)', () => {
    expect(keepInPackage('build/cjs/index.js', false)).to.equal(true);
    expect(keepInPackage('build/esm/type/registry/format.mjs', false)).to.equal(true);
    expect(keepInPackage('build/cjs/index.d.ts', false)).to.equal(false);
  });

  it("keeps only the compiled addon of node-gyp's build/", () => {
    expect(keepInPackage('build/Release/better_sqlite3.node', false)).to.equal(true);
    expect(keepInPackage('build/Release/obj.target/x.o', false)).to.equal(false);
    expect(keepInPackage('build/Makefile', false)).to.equal(false);
    expect(keepInPackage('build/config.gypi', false)).to.equal(false);
    expect(keepInPackage('build/deps/sqlite3/sqlite3.c', false)).to.equal(false);
  });
});
