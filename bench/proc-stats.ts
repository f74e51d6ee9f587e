// What the benchmarks read about a process from /proc (Linux): CPU time, resident memory, open
// descriptors, its children, and how busy the whole machine is — so a gateway run as a child
// process (`protogate serve`) is measured from the outside, without instrumenting it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every common Linux). */
export const clockTicksPerSecond = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** The fields of /proc/PID/stat after the command name (which may itself contain spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time of one process, in µs (field 14 utime + 15 stime, in clock ticks). */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  // statFields starts at field 3 (state), so utime (14) is at index 11.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond;
}

/** The live child processes of `parent` (e.g. cluster workers). */
export function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [state, ppid] = statFields(Number(entry));
      if (Number(ppid) === parent && state !== 'Z') children.push(Number(entry));
    } catch {
      // the process ended between readdir and read
    }
  }
  return children;
}

/** One line of /proc/PID/status in KiB (VmRSS: resident now; VmHWM: the peak). */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]);
}

/** Open file descriptors of a process (sockets included). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Busy and total jiffies of all CPUs together, from the first line of /proc/stat. */
export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

/** The machine's CPU ticks now; two readings give how busy it was in between. */
export function machineTicks(): MachineTicks {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const numbers = values.map(Number);
  const total = numbers.reduce((sum, value) => sum + value, 0);
  // idle (4th) and iowait (5th) are the not-busy columns
  return { busy: total - numbers[3]! - (numbers[4] ?? 0), total };
}

/** Share of all CPUs busy between two readings, in % of the whole machine. */
export function machineBusyPercent(from: MachineTicks, to: MachineTicks): number {
  const total = to.total - from.total;
  return total === 0 ? 0 : (100 * (to.busy - from.busy)) / total;
}

/** CPUs this process may run on. */
export const cores = availableParallelism();

/** The value at quantile `q` (0…1) of ascending `sorted`; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** The file-descriptor soft limit this process (and the children it spawns) runs under. */
export function fdSoftLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
