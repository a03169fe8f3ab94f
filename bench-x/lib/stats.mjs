import { readFileSync } from 'node:fs';

/** Percentiles of a list of numbers (milliseconds), rounded to 0.01. */
export function summary(values) {
  if (!values.length) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: round(sorted.at(-1)) };
}

export const round = (n) => Math.round(n * 100) / 100;

function cpuMs(pid) {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 ticks/s
}

/** CPU of a process since now, as a percentage of one core, read when called. */
export function cpuSampler(pid) {
  const start = { cpu: cpuMs(pid), wall: performance.now() };
  return () => round((100 * (cpuMs(pid) - start.cpu)) / (performance.now() - start.wall));
}

export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024);
}
