/**
 * `mmsim explore --port 0`: the start-up line names the address the server
 * really listens on, and it listens on the loopback address 127.0.0.1 only
 * (the page runs scenarios; nothing else on the network should reach it).
 * The page itself is tested in test/browser/explore.test.ts.
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runExplore } from './explore.js';

/** Whether a TCP connection to host:port is accepted ('refused' covers every error: ECONNREFUSED, EADDRNOTAVAIL, ...). */
function tryConnect(host: string, port: number): Promise<'accepted' | 'refused'> {
  return new Promise((ok) => {
    const sock = connect({ host, port });
    sock.setTimeout(5_000, () => {
      sock.destroy();
      ok('refused');
    });
    sock.once('connect', () => {
      sock.destroy();
      ok('accepted');
    });
    sock.once('error', () => ok('refused'));
  });
}

/** Stop a server now: close() alone waits for open connections to end. */
function closeServer(s: Server): Promise<void> {
  return new Promise((ok) => {
    s.close(() => ok());
    s.closeAllConnections();
  });
}

describe('mmsim explore', () => {
  it('with --port 0 prints "serving http://127.0.0.1:<port>/" and listens there, on 127.0.0.1 only', async () => {
    const out: string[] = [];
    const err: string[] = [];
    let listening!: (s: Server) => void;
    const started = new Promise<Server>((ok) => (listening = ok));
    expect(runExplore(['--port', '0'], { out: (s) => out.push(s), err: (s) => err.push(s), listening })).toBe(0);
    const server = await started;
    try {
      expect(err).toEqual([]);
      expect(out.length).toBe(1);
      const m = /^mmsim explore: serving http:\/\/127\.0\.0\.1:(\d+)\/ \(Ctrl-C to stop\)$/.exec(out[0]!);
      expect(m, out[0]).not.toBeNull();
      const port = Number(m![1]);
      const address = server.address();
      expect(address).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port });
      expect(port).toBeGreaterThan(0);

      // The printed address answers with the page.
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('mmsim explore');

      // Every other address of this machine is refused: another loopback
      // address (a server on 0.0.0.0 would take it), IPv6 loopback, and the
      // network interfaces' own addresses.
      expect(await tryConnect('127.0.0.1', port)).toBe('accepted');
      const others = ['127.0.0.2', '::1'];
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) others.push(a.address);
      }
      for (const host of others) expect(`${host}: ${await tryConnect(host, port)}`).toBe(`${host}: refused`);
    } finally {
      await closeServer(server);
    }
    expect(server.listening).toBe(false);
  });

  it('rejects a port that is not a number', () => {
    const err: string[] = [];
    expect(runExplore(['--port', 'eighty'], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
    expect(err.join('\n')).toContain("--port needs a port number (0-65535), not 'eighty'");
  });
});
