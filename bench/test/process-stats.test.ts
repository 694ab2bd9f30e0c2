import assert from 'node:assert/strict';
import { machineUsage, sampleMachine } from '../process-stats.ts';

// /proc/stat's first lines as Linux writes them: user nice system idle iowait irq softirq steal guest guest_nice, in ticks of 1/100 s.
const stat = (user: number, idle: number, steal: number): string =>
  `cpu  ${user} 10 100 ${idle} 5 0 20 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;

describe('machine CPU from /proc/stat', () => {
  it('counts user, nice, system, irq, softirq and steal as busy, and idle and iowait as not', () => {
    const s = sampleMachine(stat(1000, 5000, 30), 0);
    assert.equal(s.busyTicks, 1000 + 10 + 100 + 20 + 30);
    assert.equal(s.stealTicks, 30);
    assert.equal(s.totalTicks, s.busyTicks + 5000 + 5);
  });

  it('gives the busy cores and the stolen share between two samples', () => {
    // 10 s on 2 cores: 2,000 ticks in all; 1,500 of them busy, 100 of those stolen.
    const usage = machineUsage(sampleMachine(stat(1000, 5000, 0), 0), sampleMachine(stat(2400, 5500, 100), 10_000));
    assert.deepEqual(usage, { busyCores: 1.5, stealPercent: 5, seconds: 10 });
  });
});
