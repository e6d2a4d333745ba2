// `npm run demo`: three pipelines of an app share one Semaphore(3) — "at most 3 uploads at once,
// across the whole app". The terminal shows, live, the permits in use, the requests waiting and a
// progress bar; the run ends with a summary and exits 0 (1 if the limit was ever exceeded).
//
// Options: --fast (10x shorter tasks, used by the test of this demo), --plain (no live redraw;
// also the default when the output is not a terminal).
import { Semaphore, boundedPermit, mergeMapWithPermit, withPermit } from '../src/index.js';
import { defer, from, map, mergeMap, of, take, timer, finalize, type Observable } from 'rxjs';

const fast = process.argv.includes('--fast');
const live = process.stdout.isTTY === true && !process.argv.includes('--plain');
const scale = fast ? 0.1 : 1;

const LIMIT = 3;
const uploads = new Semaphore(LIMIT);

// A small seeded generator, so every run shows the same story.
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

let running = 0;
let mostAtOnce = 0;
let finished = 0;
let shed = 0;
const total = { photos: 12, videos: 6, thumbnails: 10 };
const allTasks = total.photos + total.videos + total.thumbnails;

/** One upload: holds a permit for its whole run (the caller gates it). */
function upload(kind: string, id: number, ms: number): Observable<string> {
  return defer(() => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    return timer(Math.round(ms * scale)).pipe(
      map(() => `${kind} ${id}`),
      finalize(() => running--),
    );
  });
}

// Pipeline 1: photos, its own mergeMap allows 4 at once — the shared semaphore allows fewer.
const photos = from(Array.from({ length: total.photos }, (_, i) => i)).pipe(
  mergeMap((i) => upload('photo', i, 150 + random() * 250).pipe(withPermit(uploads)), 4),
);
// Pipeline 2: videos, many values may wait, so each waits as a queued request, not a subscription.
const videos = from(Array.from({ length: total.videos }, (_, i) => i)).pipe(
  mergeMapWithPermit(uploads, (i) => upload('video', i, 400 + random() * 400)),
);
// Pipeline 3: thumbnails are optional: a bulkhead sheds them when 5 requests already wait.
const thumbnails = timer(Math.round(900 * scale), Math.round(120 * scale)).pipe(
  take(total.thumbnails),
  mergeMap((i) =>
    upload('thumbnail', i, 80 + random() * 120).pipe(
      boundedPermit(uploads, { maxWaiting: 5, with: () => (shed++, of(`thumbnail ${i} skipped`)) }),
    ),
  ),
);

const started = Date.now();
const bar = (done: number, width = 30) => {
  const filled = Math.round((done / allTasks) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${allTasks}`;
};
const status = () =>
  `permits in use ${'■'.repeat(LIMIT - uploads.value)}${'□'.repeat(uploads.value)} ${LIMIT - uploads.value}/${LIMIT}` +
  `  waiting ${String(uploads.waiting).padStart(2)}  ${bar(finished)}`;

let lastPlain = 0;
function render(final = false): void {
  if (live) {
    process.stdout.write(`\r${status()}\x1b[K${final ? '\n' : ''}`);
  } else if (final || Date.now() - lastPlain >= 250 * scale) {
    lastPlain = Date.now();
    console.log(status());
  }
}

const ticker = setInterval(render, 50);
let pipelinesDone = 0;
for (const pipeline of [photos, videos, thumbnails]) {
  pipeline.subscribe({
    next: () => {
      finished++;
      render();
    },
    complete: () => {
      if (++pipelinesDone < 3) return;
      clearInterval(ticker);
      render(true);
      summarise();
    },
  });
}

function summarise(): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  const ok = mostAtOnce <= LIMIT && uploads.value === LIMIT && uploads.waiting === 0 && finished === allTasks;
  console.log('');
  console.log(`summary: ${finished} tasks in ${seconds} s over 3 pipelines sharing one Semaphore(${LIMIT})`);
  console.log(`  most uploads at once: ${mostAtOnce} (limit ${LIMIT})`);
  console.log(`  thumbnails shed by the bulkhead: ${shed}`);
  console.log(`  permits free at the end: ${uploads.value}/${LIMIT}, waiting: ${uploads.waiting}`);
  console.log(ok ? 'ok' : 'FAILED: the limit was exceeded or a permit was lost');
  process.exitCode = ok ? 0 : 1;
}
