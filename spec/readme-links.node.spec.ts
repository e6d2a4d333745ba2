import * as fs from 'fs';
import * as path from 'path';

// README.md ships in the npm tarball (package.json "files") and is what npmjs.com shows, so every
// relative link in it must point at a file that exists and ships too; the same holds for
// docs/semantics.md, which the README links to. A link into dist/ only has to match "files" (dist/
// is built on pack). A link with a #fragment must name a heading or an explicit id of its target.

const root = path.resolve(__dirname, '..');
const checkedFiles = ['README.md', 'docs/semantics.md'];

interface Link {
  line: number;
  target: string;
}

/** Blanks out fenced code blocks and inline code spans, keeping line numbers: no links there. */
function withoutCode(markdown: string): string {
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  return markdown
    .replace(/^ {0,3}(```|~~~)[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, blank)
    .replace(/(`+)[^`\n][\s\S]*?\1/g, blank);
}

/** Inline links and images, reference definitions, and HTML href/src attributes. */
function markdownLinks(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const patterns = [
    /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm,
    /\b(?:href|src)\s*=\s*["']([^"']+)["']/g,
  ];
  const links: Link[] = [];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      links.push({ line: text.slice(0, match.index).split('\n').length, target: match[1] });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//');
}

/** GitHub's heading ids (github-slugger), plus explicit `id`/`name` attributes. */
function anchorsOf(markdown: string): Set<string> {
  const text = withoutCode(markdown);
  const anchors = new Set<string>();
  for (const match of text.matchAll(/\b(?:id|name)\s*=\s*["']([^"']+)["']/g)) anchors.add(match[1]);
  const seen = new Map<string, number>();
  // Headings are read from the original text: code spans in them count (withoutCode blanked them).
  const lines = markdown.split('\n');
  text.split('\n').forEach((line, index) => {
    if (!/^ {0,3}#{1,6}\s/.test(line)) return;
    const heading = lines[index]
      .replace(/^ {0,3}#{1,6}\s+/, '')
      .replace(/\s+#+\s*$/, '')
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*]/g, '');
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  });
  return anchors;
}

function packageFiles(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return (pkg.files as string[]).map((entry) => entry.replace(/^\.\//, '').replace(/\/+$/, ''));
}

/** Whether npm packs `relative` (a path from the package root), reading "files" loosely. */
function ships(relative: string, files: string[]): boolean {
  // npm always packs these, whatever "files" says.
  if (/^(package\.json|(readme|license|licence)(\.[^/]*)?)$/i.test(relative)) return true;
  return files.some((entry) => {
    if (/[*?[]/.test(entry)) {
      const pattern = entry
        .split('**')
        .map((part) =>
          part
            .replace(/[.+^${}()|\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*');
      return new RegExp(`^${pattern}(/.*)?$`).test(relative);
    }
    return relative === entry || relative.startsWith(`${entry}/`);
  });
}

/**
 * What is wrong with the relative links of `file` (a path from the root) whose text is `markdown`:
 * one line per broken link, empty when all are fine.
 */
function linkProblems(file: string, markdown: string, files = packageFiles()): string[] {
  const problems: string[] = [];
  const ownAnchors = anchorsOf(markdown);
  for (const { line, target } of markdownLinks(markdown)) {
    if (!isRelative(target)) continue;
    const where = `${file}:${line}: ${target}`;
    const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
    const decodedPath = decodeURI(pathPart.split('?')[0]);
    if (decodedPath === '') {
      if (fragment !== undefined && !ownAnchors.has(decodeURIComponent(fragment))) {
        problems.push(`${where}: no heading or id "${fragment}" in ${file}`);
      }
      continue;
    }
    const absolute = path.resolve(root, path.dirname(file), decodedPath);
    const relative = path.relative(root, absolute).split(path.sep).join('/');
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      problems.push(`${where}: points outside the package`);
      continue;
    }
    if (!ships(relative, files)) {
      problems.push(`${where}: ${relative} is not in package.json "files", so the link breaks on npm`);
      continue;
    }
    if (relative === 'dist' || relative.startsWith('dist/')) continue; // built on pack
    if (!fs.existsSync(absolute)) {
      problems.push(`${where}: ${relative} does not exist`);
      continue;
    }
    if (fragment !== undefined && /\.md$/i.test(relative)) {
      const anchors = anchorsOf(fs.readFileSync(absolute, 'utf8'));
      if (!anchors.has(decodeURIComponent(fragment))) {
        problems.push(`${where}: no heading or id "${fragment}" in ${relative}`);
      }
    }
  }
  return problems;
}

function read(file: string): string {
  return fs.readFileSync(path.join(root, file), 'utf8');
}

describe('Relative links in the shipped Markdown', () => {
  it('are found in README.md, which links to docs/semantics.md', () => {
    const targets = markdownLinks(read('README.md')).map((link) => link.target);
    expect(targets).toContain('docs/semantics.md');
  });

  for (const file of checkedFiles) {
    it(`${file}: every relative link points at a file that exists and is in package.json "files"`, () => {
      expect(linkProblems(file, read(file))).toEqual([]);
    });
  }

  it('docs/semantics.md has a link target for each of rules 1 to 18', () => {
    const anchors = anchorsOf(read('docs/semantics.md'));
    const missing = Array.from({ length: 18 }, (_, i) => `rule-${i + 1}`).filter((id) => !anchors.has(id));
    expect(missing).toEqual([]);
  });

  it('the check can fail: unshipped, missing and outside targets, unknown anchors; code is ignored', () => {
    const markdown = [
      '# Title',
      '',
      'See [results](bench/RESULTS.md), [gone](docs/no-such-file.md), [up](../elsewhere.md),',
      '[title](#title), [no anchor](#nowhere), [readme](README.md#no-such-heading).',
      '',
      '[ref]: spec/smoke.spec.ts',
      '<img src="examples/logo.png">',
      '',
      '```md',
      '[in code](bench/README.md)',
      '```',
      'and `[inline code](src/index.ts)`, [web](https://example.com), [built](dist/esm/index.js).',
    ].join('\n');
    const problems = linkProblems('README.md', markdown, ['dist/esm', 'README.md', 'docs/no-such-file.md']);
    expect(problems.map((problem) => problem.replace(/: [^:]*$/, ''))).toEqual([
      'README.md:3: bench/RESULTS.md',
      'README.md:3: docs/no-such-file.md',
      'README.md:3: ../elsewhere.md',
      'README.md:4: #nowhere',
      'README.md:4: README.md#no-such-heading',
      'README.md:6: spec/smoke.spec.ts',
      'README.md:7: examples/logo.png',
    ]);
  });
});
