// The kernel's own accounting of who had the CPU, for login-load.mjs (Linux only):
// - per thread, /proc/<pid>/task/<tid>/schedstat: time on a CPU, time waiting on a run queue
//   (runnable, but another thread of this machine had the CPU) and timeslices, in ns;
//   /proc/<pid>/task/<tid>/status: voluntary and involuntary context switches;
// - per machine, /proc/stat's `steal`: time the hypervisor ran something else while a vCPU of this
//   guest had work. A thread whose vCPU is stolen waits on no run queue of this guest: steal is
//   the one delay that run-queue waits cannot show, and that nothing in the guest can fix.
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** /proc/stat counts in USER_HZ ticks (`getconf CLK_TCK`: 100 on Linux), so 10 ms each. */
const TICK_MS = 10;

/** /proc/stat's first line (every CPU summed), in ms: user, nice, system, idle, ..., steal. */
export function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n', 1)[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((ticks) => Number(ticks) * TICK_MS);
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

/** One thread's schedstat: on-CPU and run-queue wait in ms, and timeslices. */
export function threadSchedstat(pid, tid = pid) {
  const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { runMs: run / 1e6, waitMs: wait / 1e6, slices };
}

const field = (status, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);

/** Every thread of a process: name, nice, schedstat and context switches (a thread that ended is left out). */
export function threadsOf(pid) {
  const threads = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads; // the process ended
  }
  for (const tid of tids) {
    try {
      const dir = `/proc/${pid}/task/${tid}`;
      const status = readFileSync(`${dir}/status`, 'utf8');
      // Field 19 of stat is the nice value; the name (field 2) may hold spaces, so count after ')'.
      const stat = readFileSync(`${dir}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const nice = Number(fields[16]);
      // Field 41: the scheduling policy (0 normal, 3 batch, 5 idle).
      const policy = { 0: '', 3: ' batch', 5: ' idle' }[fields[38]] ?? ` policy ${fields[38]}`;
      threads.set(Number(tid), {
        comm: readFileSync(`${dir}/comm`, 'utf8').trim(),
        nice,
        policy,
        ...threadSchedstat(pid, tid),
        voluntary: field(status, 'voluntary_ctxt_switches'),
        involuntary: field(status, 'nonvoluntary_ctxt_switches'),
      });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/**
 * What each thread of `pid` did between two `threadsOf` snapshots, grouped by name and nice
 * (the main thread apart, as `main`): ms on a CPU, ms waiting on a run queue, involuntary switches.
 */
export function threadDeltas(pid, before, after) {
  const groups = new Map();
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { runMs: 0, waitMs: 0, slices: 0, involuntary: 0, voluntary: 0 };
    const name = tid === pid ? `main (${end.comm})` : end.comm;
    const key = `${name} nice ${end.nice}${end.policy}`;
    const group = groups.get(key) ?? { threads: 0, runMs: 0, waitMs: 0, involuntary: 0 };
    group.threads++;
    group.runMs += end.runMs - start.runMs;
    group.waitMs += end.waitMs - start.waitMs;
    group.involuntary += end.involuntary - start.involuntary;
    groups.set(key, group);
  }
  const rounded = [...groups].map(([key, g]) => [
    key,
    { threads: g.threads, runMs: Math.round(g.runMs), waitMs: Math.round(g.waitMs), involuntary: g.involuntary },
  ]);
  return Object.fromEntries(rounded.sort((a, b) => b[1].runMs - a[1].runMs));
}

/** Sums a process's threads between two snapshots: on-CPU and run-queue wait, in ms. */
export function processDelta(before, after) {
  let runMs = 0;
  let waitMs = 0;
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { runMs: 0, waitMs: 0 };
    runMs += end.runMs - start.runMs;
    waitMs += end.waitMs - start.waitMs;
  }
  return { runMs: Math.round(runMs), waitMs: Math.round(waitMs) };
}

/** Steal and the busy share of the machine between two `cpuTimes()`: ms, and % of all CPU time. */
export function stealDelta(before, after) {
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  const total = Object.values(delta).reduce((a, b) => a + b, 0);
  const busy = total - delta.idle - delta.iowait - delta.steal;
  const pct = (ms) => (total > 0 ? Math.round((1000 * ms) / total) / 10 : 0);
  return { stealMs: delta.steal, stealPct: pct(delta.steal), busyPct: pct(busy), busyMs: busy, cpuMs: total };
}

/**
 * Lowers every thread of a process to `nice`. On Linux a nice value is per thread, and
 * `setPriority(pid)` sets only the thread whose id is `pid`: for DynamoDB Local that is the `java`
 * launcher's first thread, which only waits, while the JVM's threads that serve requests keep nice
 * 0. New threads inherit their creator's value, so call it again after a warm-up.
 */
export function lowerEveryThread(pid, nice) {
  let lowered = 0;
  for (const tid of threadsOf(pid).keys()) {
    try {
      setPriority(tid, nice);
      lowered++;
    } catch {
      // the thread ended
    }
  }
  return lowered;
}
