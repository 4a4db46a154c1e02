// The file store's writer: aligned blocks go out with O_DIRECT (not through the page cache), everything
// else buffered, and the file is the exact bytes either way.
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileStore } from '../../src/stores/file.js';
import { loadNative } from '../../src/native/binding.js';

const MiB = 1 << 20;
let dir = '';

test.before(() => {
  // Under the checkout, like a real datadir on a disk filesystem (a tmpfs /tmp may not do O_DIRECT).
  fs.mkdirSync(path.resolve('var'), { recursive: true });
  dir = fs.mkdtempSync(path.resolve('var', 'file-store-'));
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const store = () =>
  new FileStore({ id: 'f', description: '', weight: 0, isDefault: true, datadir: dir, filePerm: 0, chunkSize: 65536, thinProvisioning: false });

/** A 1 MiB slot on a 4 KiB boundary, as the ingest makes them. */
function alignedSlot(fill: Buffer): Buffer {
  const mem = new SharedArrayBuffer(MiB + 4096);
  const slot = Buffer.from(mem, loadNative().alignOffset(new Uint8Array(mem), 4096), MiB);
  fill.copy(slot);
  return slot;
}

/** A new image's writer that has been given the first `mibs` MiB of `data` in aligned slots. */
async function writerWithAlignedMiBs(data: Buffer, mibs: number) {
  const id = randomUUID();
  const w = await store().createWriter(id);
  for (let i = 0; i < mibs; i++) await w.write(alignedSlot(data.subarray(i * MiB, (i + 1) * MiB)));
  return { id, w };
}

/** Pages of `file` in the page cache (util-linux fincore). */
const cachedPages = (file: string) => Number(execFileSync('fincore', ['--noheadings', '--raw', '--output', 'PAGES', file]).toString().trim());

test('aligned slots bypass the page cache; unaligned memory and the tail are written buffered; bytes exact', async () => {
  const data = randomBytes(6 * MiB + 777);
  const { id, w } = await writerWithAlignedMiBs(data, 4);
  // Buffer.allocUnsafe memory is not 4 KiB aligned: the direct write fails with EINVAL and the writer goes on buffered
  const unaligned = Buffer.allocUnsafe(MiB + 64).subarray(16, 16 + MiB);
  data.copy(unaligned, 0, 4 * MiB, 5 * MiB);
  await w.write(unaligned);
  await w.write(Buffer.from(data.subarray(5 * MiB)));
  const loc = await w.commit();
  const file = path.join(dir, id);
  assert.is(loc.url, `file://${file}`);
  assert.ok(fs.readFileSync(file).equals(data));
  assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith('.')), []);
});

test('the O_DIRECT path is taken: 4 aligned MiB leave (almost) nothing in the page cache', async () => {
  const data = randomBytes(4 * MiB + 100);
  const { id, w } = await writerWithAlignedMiBs(data, 4);
  await w.write(Buffer.from(data.subarray(4 * MiB)));
  await w.commit();
  const file = path.join(dir, id);
  const pages = cachedPages(file);
  assert.ok(pages <= 2, `${pages} pages cached: the aligned MiB went through the page cache`);
  assert.ok(fs.readFileSync(file).equals(data));
  fs.rmSync(file);
  // control: a buffered write of the same size stays cached, so the check above means something
  fs.writeFileSync(file, data);
  assert.ok(cachedPages(file) > 1000);
});

test.run();
