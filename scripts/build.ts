// npm run build: each service (and the mock backend) as one JavaScript bundle,
// services/<name>/dist/main.js, which is what runs everywhere the services run:
// the dev stack, the e2e tests, the benchmarks, compose and `npm start`.
//
// Why bundles and not the .ts sources Node can run directly: a service run
// from its sources pays for Node's TypeScript stripping (about 19 MB of RSS)
// and for hundreds of separate module records; the bundle of pod-worker idles
// at about 90 MB RSS (85 MB before undici) against 122 MB from sources (bench/README). esbuild does
// the bundling (no type checking: `npm run typecheck` does that).
//
// Bundles are not minified, so stack traces stay readable. They are pure
// ASCII (`asciiOnly`): V8 keeps a module's source for as long as the process
// lives, and one character above U+00FF anywhere in it (esbuild escapes them
// in code, but keeps comments as written, e.g. an arrow in a dependency's
// comment) makes it a two-byte string, twice the bundle's size in every
// process (measured: 5 MB of source, 5 MB more external memory). Every file is
// written to a temporary name and renamed, so a process starting while another
// build runs never reads half a bundle.
import { renameSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry point (relative to the repository) → bundle written next to it in dist/. */
export const BUNDLES = {
  'node-agent': { entry: 'services/node-agent/src/main.ts', out: 'services/node-agent/dist/main.js' },
  'pod-worker': { entry: 'services/pod-worker/src/main.ts', out: 'services/pod-worker/dist/main.js' },
  'kubelet-api': { entry: 'services/kubelet-api/src/main.ts', out: 'services/kubelet-api/dist/main.js' },
  'mock-backend': { entry: 'providers/mock/src/mock-backend-main.ts', out: 'providers/mock/dist/mock-backend-main.js' },
} as const satisfies Record<string, { entry: string; out: string }>;

export type BundleName = keyof typeof BUNDLES;

const isBundleName = (name: string): name is BundleName => Object.hasOwn(BUNDLES, name);

// CommonJS dependencies bundled into an ES module still call require() for
// Node's built-ins; this gives them one.
const REQUIRE_SHIM = "import { createRequire as __vkCreateRequire } from 'node:module'; const require = __vkCreateRequire(import.meta.url);";

/** Builds the bundles (all by default) synchronously: about a second for all four. Returns their paths. */
export function buildBundles(names: readonly string[] = Object.keys(BUNDLES)): string[] {
  return names.map((name) => {
    if (!isBundleName(name)) throw new Error(`unknown bundle "${name}" (known: ${Object.keys(BUNDLES).join(', ')})`);
    const bundle = BUNDLES[name];
    const result = buildSync({
      entryPoints: [join(REPO_ROOT, bundle.entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      write: false,
      outfile: join(REPO_ROOT, bundle.out),
      banner: { js: REQUIRE_SHIM },
      // Loaded lazily, only for kubeconfigs that need its auth plugins: left
      // to node_modules so it costs nothing when unused.
      external: ['@kubernetes/client-node'],
      logLevel: 'warning',
    });
    for (const file of result.outputFiles) {
      mkdirSync(dirname(file.path), { recursive: true });
      const tmp = `${file.path}.${process.pid}.tmp`;
      writeFileSync(tmp, asciiOnly(file.text));
      renameSync(tmp, file.path);
    }
    return join(REPO_ROOT, bundle.out);
  });
}

/**
 * The bundle with every UTF-16 code unit above 0x7F written as a `\uXXXX`
 * escape. esbuild's default ASCII charset has already escaped them in
 * strings, regular expressions, templates and identifiers, so what is left is
 * in comments, where the escape is as readable; in any of those other places
 * the escape would mean the same character too.
 */
export function asciiOnly(code: string): string {
  return code.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Where a bundle is written (without building it). */
export function bundlePath(name: BundleName): string {
  return join(REPO_ROOT, BUNDLES[name].out);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2);
  const started = Date.now();
  const built = buildBundles(names.length > 0 ? names : undefined).map((path) => relative(process.cwd(), path));
  process.stderr.write(`built ${built.join(', ')} in ${Date.now() - started} ms\n`);
}
