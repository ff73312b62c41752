import { Agent, createServer, get } from 'node:http';
import { closerOf, listenLocally } from '../test/helpers/servers.js';

/** The TCP handles (listening servers, sockets) this process holds open. */
const tcpHandles = () => process.getActiveResourcesInfo().filter((resource) => resource.startsWith('TCP'));

// The unit specs that run HTTP servers of their own close them with test/helpers/servers.ts.
describe("a spec's HTTP server (test/helpers/servers.ts)", () => {
  it('is closed with every connection, a keep-alive one included, once its close resolves: no TCP handle left', async () => {
    const before = tcpHandles();
    const server = await listenLocally(createServer((_req, res) => void res.end('ok')));
    const agent = new Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) =>
        get(`${server.url}/`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject),
      );
      expect(tcpHandles().length).toBeGreaterThan(before.length);
      await server.close();
      expect(tcpHandles()).toEqual(before);
    } finally {
      agent.destroy();
    }
  });

  it('closes a server that is not listening (never started, or closed already) at once', async () => {
    const close = closerOf(createServer());
    await expect(close()).resolves.toBeUndefined();
  });
});
