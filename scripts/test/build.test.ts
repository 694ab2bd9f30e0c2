import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { asciiOnly, buildBundles } from '../build.ts';

/** Imports `code` as an ES module and answers its exports. */
async function evaluate(code: string): Promise<Record<string, unknown>> {
  return await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as Record<string, unknown>;
}

describe('bundles (scripts/build.ts)', () => {
  it('are pure ASCII, so that V8 keeps their source as one byte per character', function () {
    this.timeout(60_000);
    for (const path of buildBundles()) {
      const text = readFileSync(path, 'utf8');
      const offending = /[\u0080-\uffff]/.exec(text);
      assert.equal(offending, null, `${path} has a non-ASCII character at ${offending?.index}`);
    }
  });

  it('escaping non-ASCII characters keeps what a module means, in comments, strings, templates and regular expressions', async () => {
    const code = [
      '// an arrow → in a comment /* and a “quote” */',
      'export const s = "a → b, ünïcode, 😀";',
      'export const t = `x ≥ ${1 + 1} — y`;',
      'export const r = /→+/.test("→→") && /[😀]/u.test("😀");',
      'export const n = "→".length;',
    ].join('\n');
    const escaped = asciiOnly(code);
    assert.match(escaped, /^[^\u0080-\uffff]*$/);
    assert.deepEqual({ ...await evaluate(escaped) }, { ...await evaluate(code) });
  });
});
