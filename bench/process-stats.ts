import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) and memory of one process, read from /proc. */
export interface ProcessSample {
  cpuSeconds: number;
  /** VmHWM: the peak resident set since the process started. */
  peakRssMb: number;
  rssMb: number;
}

// USER_HZ; 100 on every Linux the bench runs on (sysconf is not reachable from Node).
const CLOCK_TICKS_PER_SECOND = 100;

/** Undefined once the process is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** A process's CPU seconds over a phase and its peak RSS at the phase's end. */
export interface ProcessUsage {
  name: string;
  pid: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** Samples named processes at a phase's start, and reports the difference at its end. */
export class ProcessStats {
  readonly #procs: { name: string; pid: number }[];
  #start = new Map<number, ProcessSample>();

  constructor(procs: { name: string; pid: number }[]) {
    this.#procs = procs;
  }

  begin(): void {
    this.#start = new Map(this.#procs.flatMap((p) => {
      const s = sampleProcess(p.pid);
      return s ? [[p.pid, s] as const] : [];
    }));
  }

  end(): ProcessUsage[] {
    return this.#procs.map((p) => {
      const now = sampleProcess(p.pid);
      const start = this.#start.get(p.pid);
      return {
        name: p.name,
        pid: p.pid,
        cpuSeconds: round((now?.cpuSeconds ?? 0) - (start?.cpuSeconds ?? 0), 2),
        peakRssMb: round(now?.peakRssMb ?? 0, 1),
      };
    });
  }
}

/** The machine's CPU time from /proc/stat's first line, in clock ticks, summed over every core. */
export interface MachineSample {
  /** user, nice, system, irq, softirq and steal: every tick not idle and not waiting for I/O. */
  busyTicks: number;
  /** Of busyTicks, the ticks the hypervisor gave to someone else (a virtual machine's host being busy). */
  stealTicks: number;
  totalTicks: number;
  atMs: number;
}

export function sampleMachine(stat = readFileSync('/proc/stat', 'utf8'), atMs = Date.now()): MachineSample {
  const line = stat.slice(0, stat.indexOf('\n'));
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user and nice)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const busyTicks = user! + nice! + system! + irq! + softirq! + steal!;
  return { busyTicks, stealTicks: steal!, totalTicks: busyTicks + idle! + iowait!, atMs };
}

/** How busy the whole machine was between two samples, every process and the kernel included. */
export interface MachineUsage {
  /** Cores' worth of CPU busy on average (2 cores: at most 2). */
  busyCores: number;
  /** Of all CPU time, the share stolen by the hypervisor, in percent. */
  stealPercent: number;
  seconds: number;
}

export function machineUsage(from: MachineSample, to: MachineSample): MachineUsage {
  const total = to.totalTicks - from.totalTicks;
  const seconds = (to.atMs - from.atMs) / 1000;
  return {
    busyCores: round(seconds > 0 ? (to.busyTicks - from.busyTicks) / CLOCK_TICKS_PER_SECOND / seconds : 0, 2),
    stealPercent: round(total > 0 ? ((to.stealTicks - from.stealTicks) / total) * 100 : 0, 1),
    seconds: round(seconds, 1),
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
