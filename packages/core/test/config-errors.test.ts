import assert from 'node:assert/strict';
import { ConfigProblems } from '../src/config-errors.ts';

describe('ConfigProblems', () => {
  it('reads integers and numbers in range, and names every value that is not one in one error', () => {
    const problems = new ConfigProblems();
    assert.equal(problems.integer('--port', '8080', 0, 65535), 8080);
    assert.equal(problems.integer('--burst', 5, 1), 5);
    assert.equal(problems.number('--qps', '-1', -1), -1);
    assert.equal(problems.number('--qps', '2.5', -1), 2.5);
    assert.equal(problems.count, 0);

    problems.integer('--health-port', 'abc', 0, 65535);
    problems.integer('--kubelet-port', '70000', 1, 65535);
    problems.integer('--concurrency', '1.5', 1);
    problems.integer('--burst', '', 1);
    problems.number('--kube-api-qps', 'fifty', -1);
    problems.number('--interval', 'Infinity', 0);
    assert.throws(() => problems.throwIfAny('test configuration'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'VK_ERR_CONFIG_INVALID');
      assert.match(err.message, /6 problems/);
      for (const line of [
        '--health-port: must be an integer from 0 to 65535, got "abc"',
        '--kubelet-port: must be an integer from 1 to 65535, got "70000"',
        '--concurrency: must be an integer >= 1, got "1.5"',
        '--burst: must be an integer >= 1, got ""',
        '--kube-api-qps: must be a number >= -1, got "fifty"',
        '--interval: must be a number >= 0, got "Infinity"',
      ]) assert.ok(err.message.includes(line), `names ${line}:\n${err.message}`);
      return true;
    });
  });

  it('reads a switch as true or false from a bare flag or from text, and never turns on what it cannot read', () => {
    const problems = new ConfigProblems();
    for (const on of [true, 'true', 'TRUE', '1', 'yes', 'on']) assert.equal(problems.boolean('--x', on), true, String(on));
    for (const off of [undefined, false, 'false', 'False', '0', 'no', 'off', '']) assert.equal(problems.boolean('--x', off), false, String(off));
    assert.equal(problems.count, 0);
    assert.equal(problems.boolean('--insecure-no-auth', 'nope'), false);
    assert.throws(() => problems.throwIfAny('test configuration'), /--insecure-no-auth: must be true or false, got "nope"/);
  });
});
