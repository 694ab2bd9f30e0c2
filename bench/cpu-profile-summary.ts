// Summarises V8 .cpuprofile files (node --cpu-prof, e.g. from pod-bench.ts
// --cpu-prof-dir): self time by package/file and the top functions.
// Run: node bench/cpu-profile-summary.ts FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);

/**
 * A bundle (scripts/build.ts, not minified) starts each module it inlines
 * with a `// <path>` comment line: line number → that module's path, so a
 * profile of a bundled service still groups costs by package and file.
 */
const bundleModules = new Map<string, { line: number; path: string }[]>();
function bundleModuleAt(url: string, line: number): string | undefined {
  if (!/\/dist\/[^/]+\.js$/.test(url)) return undefined;
  let markers = bundleModules.get(url);
  if (!markers) {
    markers = [];
    try {
      readFileSync(new URL(url), 'utf8').split('\n').forEach((text, i) => {
        const m = /^\/\/ ((?:[^ ]+\/)?[^ /]+\.(?:[cm]?js|ts))$/.exec(text);
        if (m) markers!.push({ line: i, path: m[1]! });
      });
    } catch { /* not readable: group by the bundle's own name */ }
    bundleModules.set(url, markers);
  }
  let found: string | undefined;
  for (const marker of markers) {
    if (marker.line > line) break;
    found = marker.path;
  }
  return found;
}

/** node_modules/<pkg> or the repo-relative file, so costs group by who owns the code. */
function owner(url: string, line = 0): string {
  if (!url) return '(native/idle/gc)';
  const inBundle = bundleModuleAt(url, line);
  if (inBundle) return owner(`/x/${inBundle}`);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url;
  const repo = /\/(services|packages|providers|bench)\/(.*)$/.exec(url);
  return repo ? `${repo[1]}/${repo[2]}` : url;
}

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byOwner = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    const who = owner(n.callFrame.url, n.callFrame.lineNumber);
    const group = name === '(idle)' || name === '(program)' || name === '(garbage collector)' ? name : who;
    byOwner.set(group, (byOwner.get(group) ?? 0) + us);
    const fn = `${name} ${who}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const busy = total - (byOwner.get('(idle)') ?? 0);
  const pct = (us: number): string => `${((us / busy) * 100).toFixed(1)}%`;
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)`);
  console.log('\nby owner:');
  for (const [k, v] of [...byOwner].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v).padStart(6)}  ${k}`);
  console.log('\ntop functions (self):');
  for (const [k, v] of [...byFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v).padStart(6)}  ${k}`);
}
