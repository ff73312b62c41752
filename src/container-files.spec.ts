import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppMetrics } from './metrics/app-metrics.js';
import { startWorkerMetricsServer } from './stream/worker-metrics.server.js';

// The Dockerfile and docker-compose.yml, read as text (there is no container engine on the
// development machines): each image's HEALTHCHECK asks a port its own process serves (session 22
// N: the worker ran the API's image, whose check asked the API's port, which the worker never serves).
const ROOT = join(import.meta.dirname, '..');

interface Stage {
  name: string;
  env: Record<string, string>;
  healthcheck?: string[];
  cmd?: string[];
}

/** The Dockerfile's stages in order, each with what it inherits from the stage it is built `FROM`. */
function dockerStages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [instruction = '', ...rest] = line.trim().split(/\s+/);
    const args = rest.join(' ');
    const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
    if (instruction === 'FROM' && from) {
      const parent = stages.find((stage) => stage.name === from[1]);
      stages.push({ ...parent, env: { ...parent?.env }, name: from[2] ?? from[1] });
      continue;
    }
    const stage = stages.at(-1)!;
    if (instruction === 'ENV') {
      for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[key] = value!;
    } else if (instruction === 'HEALTHCHECK') {
      stage.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
    } else if (instruction === 'CMD') {
      stage.cmd = JSON.parse(args) as string[];
    }
  }
  return stages;
}

/** The port variable each command's process serves `/health/live` on. */
const SERVES: Record<string, string> = {
  'dist/main.js': 'PORT',
  'dist/stream/worker.main.js': 'WORKER_METRICS_PORT',
};

const run = promisify(execFile);

/** Whether a HEALTHCHECK command passes with this environment (its exit code). */
async function healthcheckPasses(command: string[], env: Record<string, string>): Promise<boolean> {
  const [file, ...args] = command;
  return run(file === 'node' ? process.execPath : file, args, { env: { PATH: process.env.PATH, ...env } }).then(
    () => true,
    () => false,
  );
}

/** The services of docker-compose.yml (two-space indented under `services:`), each as its text. */
function composeServices(text: string): Map<string, string> {
  const services = new Map<string, string>();
  const body = text.slice(text.indexOf('\nservices:\n'), text.indexOf('\nvolumes:'));
  for (const block of body.split(/\n(?= {2}[a-z][\w-]*:\n)/).slice(1)) {
    services.set(/^ {2}([\w-]+):/.exec(block)![1], block);
  }
  return services;
}

describe('the Dockerfile', () => {
  const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const stage = (name: string) => stages.find((s) => s.name === name)!;

  it('builds the API by default (the last stage) and the stream worker as the `worker` target', () => {
    expect(stages.at(-1)).toMatchObject({ name: 'runtime', cmd: ['node', 'dist/main.js'] });
    expect(stage('worker').cmd).toEqual(['node', 'dist/stream/worker.main.js']);
    // The worker serves its /health/live only with a port: the image sets one.
    expect(Number(stage('worker').env.WORKER_METRICS_PORT)).toBeGreaterThan(0);
  });

  describe("each image's HEALTHCHECK asks the port its command serves, and fails when nothing answers there", () => {
    let live: { close(): unknown; address(): AddressInfo | string | null };
    let livePort: string;
    beforeAll(async () => {
      // A server with /health/live, as the API and the worker serve it (the worker's own, here).
      live = await startWorkerMetricsServer({
        port: 0,
        host: '127.0.0.1',
        metricsToken: undefined,
        metrics: new AppMetrics(),
        status: () => ({ state: 'running', lastProgressAt: undefined }),
      });
      livePort = String((live.address() as AddressInfo).port);
    });
    afterAll(() => live.close());

    it.each(['runtime', 'worker'])('%s', async (name) => {
      const { cmd, healthcheck, env } = stage(name);
      const served = SERVES[cmd!.at(-1)!];
      expect(healthcheck).toBeDefined();
      // Every other port variable points where nothing listens (port 1): only the served one answers.
      const closed = Object.fromEntries(Object.values(SERVES).map((variable) => [variable, '1']));
      expect(await healthcheckPasses(healthcheck!, { ...env, ...closed, [served]: livePort })).toBe(true);
      expect(await healthcheckPasses(healthcheck!, { ...env, ...closed })).toBe(false);
    });
  });
});

describe('docker-compose.yml', () => {
  const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const services = composeServices(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const targetOf = (service: string) => /\n {6}target: (\S+)/.exec(services.get(service) ?? '')?.[1];

  it('runs the API and the worker from their own targets (so each has its health check), the worker without a command of its own', () => {
    expect(targetOf('api')).toBe('runtime');
    expect(targetOf('worker')).toBe('worker');
    expect(services.get('worker')).not.toMatch(/\n {4}command:/);
  });

  it('has every service another waits for as `service_healthy` checked: its own test, or its image target HEALTHCHECK', () => {
    const awaited = [...services.values()].flatMap((block) =>
      [...block.matchAll(/\n {6}([\w-]+):\n {8}condition: service_healthy/g)].map((m) => m[1]),
    );
    expect(new Set(awaited)).toEqual(new Set(['dynamodb', 'mailpit', 'api']));
    for (const name of [...awaited, 'worker']) {
      const block = services.get(name)!;
      const ownTest = /\n {4}healthcheck:\n(?: {6}.*\n)*? {6}test:/.test(block);
      const imageTest = stages.find((stage) => stage.name === targetOf(name))?.healthcheck;
      expect({ name, checked: ownTest || imageTest !== undefined }).toEqual({ name, checked: true });
    }
  });
});
