// The small plain-HTTP listeners beside our programs (the API's and the worker's /metrics, the
// relay's probes): listening with the bound URL, and answering /metrics in Prometheus' format.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { register } from './metrics.js';

export interface Listening {
  /** http://host:port as bound (the port chosen by the system when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

/** Starts `server` on host:port; rejects when the port is taken. */
export async function listen(server: http.Server, port: number, host: string): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Answers a /metrics request with the exposition text `body` resolves to (500 with the error otherwise). */
export function sendMetrics(res: http.ServerResponse, body: Promise<string>): void {
  body.then(
    (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
    (err: unknown) => res.writeHead(500).end(String(err)),
  );
}
