// CPU affinity for `BENCH_PIN=1` (Linux, util-linux's `taskset`): DynamoDB Local's JVM on one core,
// the measured side (the app and the bench process, which drives the app and runs the raw loop) on
// the other, so that the app's CPU no longer comes out of the engine's share of the same cores.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ENGINE_CORE = '1';
const MEASURED_CORE = '0';

const taskset = (args) => execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The CPU list a process may run on, as taskset prints it (`0,1`, `0-3`). */
function affinityOf(pid) {
  const list = /list:\s*(\S+)/.exec(taskset(['-c', '-p', String(pid)]))?.[1];
  if (!list) throw new Error(`BENCH_PIN: cannot read the CPU affinity of process ${pid}`);
  return list;
}

/** `pid` and every process below it (the engine may be a wrapper around `java`). */
function withDescendants(pid) {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${found[i]}/task`);
    } catch {
      continue; // ended since
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${found[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) found.push(...children.split(/\s+/).map(Number));
      } catch {
        // the thread ended since the listing
      }
    }
  }
  return found;
}

/** Sets the CPU list of every thread of `pid` (`-a`: the JVM's and Node's threads already running). */
const setAffinity = (pid, list) => taskset(['-a', '-c', '-p', list, String(pid)]);

/**
 * `pin()` puts the engine (and any process below it) on core 1 and the `measured` processes on core 0;
 * `unpin()` gives every one of them back the CPU list it had when this was made. Throws at once when
 * `taskset` is missing or this process may not use both cores 0 and 1.
 */
export function corePinning({ engine, measured }) {
  try {
    taskset(['--version']);
  } catch {
    throw new Error('BENCH_PIN=1 needs taskset (util-linux) on the PATH');
  }
  const own = affinityOf(process.pid);
  const cores = new Set(
    own.split(',').flatMap((part) => {
      const [from, to = from] = part.split('-').map(Number);
      return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    }),
  );
  if (!cores.has(ENGINE_CORE) || !cores.has(MEASURED_CORE))
    throw new Error(`BENCH_PIN=1 needs cores ${MEASURED_CORE} and ${ENGINE_CORE}; this process may use ${own}`);
  const engines = withDescendants(engine);
  const original = new Map([...engines, ...measured].map((pid) => [pid, affinityOf(pid)]));
  return {
    cores: { engine: ENGINE_CORE, measured: MEASURED_CORE },
    pin() {
      for (const pid of engines) setAffinity(pid, ENGINE_CORE);
      for (const pid of measured) setAffinity(pid, MEASURED_CORE);
    },
    unpin() {
      for (const [pid, list] of original) setAffinity(pid, list);
    },
  };
}
