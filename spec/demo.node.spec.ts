import { spawnSync } from 'child_process';
import * as path from 'path';

// `npm run demo` is the first thing a newcomer runs: it must finish, show its summary and exit 0.
describe('npm run demo', () => {
  it('runs three pipelines on one semaphore to completion and exits 0 with a summary', () => {
    const root = path.resolve(__dirname, '..');
    const run = spawnSync(process.execPath, [path.join(root, 'examples', 'run.js'), '--fast', '--plain'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).withContext(run.stderr).toBe(0);
    expect(run.stdout).toMatch(/summary: 28 tasks in [\d.]+ s over 3 pipelines sharing one Semaphore\(3\)/);
    expect(run.stdout).toContain('most uploads at once: 3 (limit 3)');
    expect(run.stdout).toContain('permits free at the end: 3/3, waiting: 0');
    expect(run.stdout).toMatch(/permits in use .* waiting +\d+ +\[[#.]+\] \d+\/28/);
    expect(run.stdout.trim().split('\n').pop()).toBe('ok');
  }, 70_000);
});
