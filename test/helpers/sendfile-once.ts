// Run as a child process by test/native/sender-threads.test.ts (so IMAGED_SEND_THREADS applies from the
// start): serves a random 24 MiB file with sendFileResponse, downloads it 6 times (4 at once), checks the
// bytes, and prints {ok, senderThreads} as JSON.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { sendFileResponse } from '../../src/native/sendfile.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imaged-sendfile-once-'));
const data = randomBytes(24 << 20);
const file = path.join(dir, 'f');
fs.writeFileSync(file, data);
const fd = fs.openSync(file, 'r');
const want = createHash('sha256').update(data).digest('hex');

const server = http.createServer((_req, res) => void sendFileResponse(res, fd, 0, data.length).catch(() => {}));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const get = () =>
  new Promise<string>((resolve, reject) => {
    http.get(url, (res) => {
      const h = createHash('sha256');
      res.on('data', (c) => h.update(c));
      res.on('end', () => resolve(h.digest('hex')));
      res.on('error', reject);
    }).on('error', reject);
  });
const shas = [await get(), await get(), ...(await Promise.all([get(), get(), get(), get()]))];
const senderThreads = fs.readdirSync('/proc/self/task').filter((t) => {
  try {
    return fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'imaged-send';
  } catch {
    return false;
  }
}).length;
console.log(JSON.stringify({ ok: shas.every((s) => s === want), senderThreads }));
server.close();
fs.closeSync(fd);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
