import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * How a spec closes an HTTP server of its own: call it right after creating the server (before any
 * connection); the function it returns closes the server and destroys every connection still open,
 * and resolves once the server and each of those sockets have emitted `close`. An awaited
 * `server.close()` alone resolves with the listening handle and a keep-alive socket still open
 * (`process.getActiveResourcesInfo()` lists them), so a spec's servers were still closing when Jest
 * sent its result, and a loaded run printed "A worker process has failed to exit gracefully".
 */
export function closerOf(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return async () => {
    const closing = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ...closing,
    ]);
  };
}

/** Starts `server` on 127.0.0.1 at a free port: its base URL, and the `closerOf` it. */
export async function listenLocally(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  const close = closerOf(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}
