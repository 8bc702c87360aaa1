/**
 * `mmsim explore [FILE] [--port P]`: serves the explorer page (dist/web,
 * built by `npm run build`) on 127.0.0.1 and prints its address. With FILE,
 * the page opens with that scenario loaded (injected into the page as JSON;
 * nothing else is read from the disk after start-up).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const EXPLORE_HELP = `Usage: mmsim explore [FILE] [--port P]

Serves the explorer, a web page that runs the model step by step (address
space, page-table walk, frames, page cache, TLB, kernel path, /proc maps and
smaps, charts), on http://127.0.0.1:P/ and prints that address. With FILE,
the page opens with that scenario loaded.

Options:
  --port P     port to listen on (default 5180; 0 picks a free one)
  -h, --help   this text

Examples:
  mmsim explore
  mmsim explore examples/page-cache.strace --port 8080
`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** dist/web beside this file's dist/cli. */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../web/', import.meta.url));
}

export interface ExploreServerOptions {
  root?: string;
  port?: number;
  /** A scenario to open the page with. */
  scenario?: { file: string; source: string };
}

/** The page with the scenario injected as `<script type="application/json" id="mmsim-initial">`. */
export function injectScenario(html: string, scenario: { file: string; source: string }): string {
  const json = JSON.stringify(scenario).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const tag = `<script type="application/json" id="mmsim-initial">${json}</script>`;
  return html.includes('</head>') ? html.replace('</head>', `${tag}\n</head>`) : tag + html;
}

export function startExploreServer(options: ExploreServerOptions = {}): Promise<{ server: Server; url: string }> {
  const root = resolve(options.root ?? defaultWebRoot());
  const index = join(root, 'index.html');
  if (!existsSync(index)) return Promise.reject(new Error(`the page is not built (${index} is missing): run 'npm run build'`));
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(root, path.endsWith('/') ? path + 'index.html' : path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    let body: Buffer | string = readFileSync(file);
    if (file === index && options.scenario !== undefined) body = injectScenario(body.toString('utf8'), options.scenario);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 5180, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : options.port;
      ok({ server, url: `http://127.0.0.1:${port}/` });
    });
  });
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
};

/** Returns the exit status for argument errors; 0 once the server is starting (it keeps the process alive). */
export function runExplore(argv: string[], io: Io = defaultIo): number {
  let values: { port?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (e) {
    io.err(`mmsim explore: ${(e as Error).message}\n\n${EXPLORE_HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(EXPLORE_HELP.trimEnd());
    return 0;
  }
  if (positionals.length > 1) {
    io.err(`mmsim explore: one scenario file at most\n\n${EXPLORE_HELP}`);
    return 2;
  }
  const port = values.port === undefined ? 5180 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`mmsim explore: --port needs a port number (0-65535), not '${values.port}'`);
    return 2;
  }
  let scenario: { file: string; source: string } | undefined;
  const path = positionals[0];
  if (path !== undefined) {
    try {
      scenario = { file: basename(path), source: readFileSync(path, 'utf8') };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      io.err(`mmsim explore: cannot read '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
      return 2;
    }
  }
  startExploreServer({ port, ...(scenario ? { scenario } : {}) }).then(
    ({ url }) => io.out(`mmsim explore: serving ${url}${scenario ? ` with ${scenario.file}` : ''} (Ctrl-C to stop)`),
    (e: Error & { code?: string }) => {
      io.err(`mmsim explore: ${e.code === 'EADDRINUSE' ? `port ${port} is in use; try --port 0` : e.message}`);
      process.exitCode = 1;
    },
  );
  return 0;
}
