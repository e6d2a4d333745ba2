import { execFileSync } from 'child_process';
import * as path from 'path';

// A runtime without SharedArrayBuffer, for real: a Node child started with V8's
// --no-harmony-sharedarraybuffer has no global SharedArrayBuffer (as a browser page that is not
// cross-origin isolated), and the constructor must say what is missing.

describe('SharedSemaphore without SharedArrayBuffer', () => {
  it('throws a TypeError from the constructor naming cross-origin isolation', () => {
    const root = path.resolve(__dirname, '..', '..');
    const script = `
      require(${JSON.stringify(path.join(root, 'scripts', 'register-ts.js'))});
      const { SharedSemaphore } = require(${JSON.stringify(path.join(root, 'src', 'index.ts'))});
      try { new SharedSemaphore(1); console.log('constructed'); }
      catch (error) { console.log(error.name + ': ' + error.message); }
      console.log(typeof SharedArrayBuffer);`;
    const out = execFileSync(process.execPath, ['--no-harmony-sharedarraybuffer', '-e', script], {
      encoding: 'utf8',
    });
    expect(out).toContain('TypeError: SharedSemaphore needs SharedArrayBuffer');
    expect(out).toContain('cross-origin-isolated page');
    expect(out).toContain('Cross-Origin-Embedder-Policy: require-corp');
    expect(out.trim().endsWith('undefined')).toBe(true);
  }, 60_000);
});
