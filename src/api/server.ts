import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AppOptions, createApp } from './app.ts';

export interface ApiServer {
  readonly server: Server;
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting connections, ends idle keep-alive ones, waits for in-flight requests. */
  close(): Promise<void>;
}

/** The API app on a node:http server with sane timeouts. */
export function createApiServer(opts: AppOptions & { requestTimeoutMs?: number }): ApiServer {
  const app = createApp(opts);
  const server = createServer(
    { requestTimeout: opts.requestTimeoutMs ?? 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    app,
  );
  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
    },
  };
}
