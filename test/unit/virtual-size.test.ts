import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { createInspector, formatToInspect, guidBytes, virtualSizeOf } from '../../src/data/format-inspector.js';

// Hand-built headers for each format Glance 25's format_inspector knows; each is fed in several chunk sizes,
// since an upload's slots may cut a header anywhere.

const t = suite('virtual size from disk image headers');

t('GUIDs are stored mixed-endian (the vhdx metadata region GUID, byte by byte)', () => {
  assert.is(guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E').toString('hex'), '06a27c8b90479a4bb8fe575f050f886e');
});
const GiB = 1024 ** 3;
const CHUNKS = [1, 7, 512, 65536, 1 << 20];
const BIG_CHUNKS = [1000, 65536, 1 << 20, 8 << 20]; // for the megabytes of a vhdx

function each(fmt: string, data: Buffer, want: number | null, chunks = CHUNKS) {
  for (const c of chunks) assert.is(virtualSizeOf(fmt, data, c), want, `${fmt} in ${c}-byte chunks`);
}

function qcow2(size: bigint, len = 512): Buffer {
  const b = Buffer.alloc(len);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4); // version
  b.writeUInt32BE(16, 20); // cluster_bits
  b.writeBigUInt64BE(size, 24);
  return b;
}

function vmdk(sectors: bigint, opts: { createType?: string; ver?: number; descSec?: bigint; gdAtEnd?: boolean; descSectors?: number } = {}): Buffer {
  const descSectors = opts.descSectors ?? 2;
  const b = Buffer.alloc(512 + descSectors * 512 + 512);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(opts.ver ?? 1, 4);
  b.writeBigUInt64LE(sectors, 12);
  b.writeBigUInt64LE(128n, 20); // grain
  b.writeBigUInt64LE(opts.descSec ?? 1n, 28);
  b.writeBigUInt64LE(BigInt(descSectors), 36);
  b.writeBigUInt64LE(opts.gdAtEnd ? 0xffffffffffffffffn : 21n, 56);
  const desc = `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="${opts.createType ?? 'monolithicSparse'}"\n\nRW ${sectors} SPARSE "x.vmdk"\n`;
  b.write(desc, 512, 'latin1');
  return b;
}

function vdi(size: bigint): Buffer {
  const b = Buffer.alloc(512);
  b.write('<<< Oracle VM VirtualBox Disk Image >>>\n', 0, 'latin1');
  b.writeUInt32LE(0xbeda107f, 0x40);
  b.writeBigUInt64LE(size, 0x170);
  return b;
}

function vhd(size: bigint): Buffer {
  const b = Buffer.alloc(512 + 1024);
  b.write('conectix', 0, 'latin1');
  b.writeBigUInt64LE(0n, 16);
  b.writeBigUInt64BE(size, 40);
  return b;
}

// Mixed-endian GUID bytes, as vhdx stores them (the encoder is checked against a known vector below).
const guid = guidBytes;

/** Identity, region table at 192 KiB pointing at a metadata region at 1 MiB whose VDS item is at +64 KiB. */
function vhdx(size: bigint, metaAt = 1 << 20): Buffer {
  const b = Buffer.alloc(metaAt + (64 << 10) + 512);
  b.write('vhdxfile', 0, 'latin1');
  const rt = 192 << 10;
  b.write('regi', rt, 'latin1');
  b.writeUInt32LE(2, rt + 8);
  guid('2DC27766-F623-4200-9D64-115E9BFD4A08').copy(b, rt + 16); // BAT, listed first
  b.writeBigUInt64LE(3n << 20n, rt + 32);
  guid('8B7CA206-4790-4B9A-B8FE-575F050F886E').copy(b, rt + 48); // metadata
  b.writeBigUInt64LE(BigInt(metaAt), rt + 64);
  b.writeUInt32LE(1 << 20, rt + 72);
  b.write('metadata', metaAt, 'latin1');
  b.writeUInt16LE(2, metaAt + 10);
  guid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B').copy(b, metaAt + 32); // file parameters
  b.writeUInt32LE(0x10000, metaAt + 48);
  b.writeUInt32LE(8, metaAt + 52);
  guid('2FA54224-CD1B-4876-B211-5DBED83BF4B8').copy(b, metaAt + 64); // virtual disk size
  b.writeUInt32LE(0x10008, metaAt + 80);
  b.writeUInt32LE(8, metaAt + 84);
  b.writeBigUInt64LE(size, metaAt + 0x10008);
  return b;
}

t('raw: the number of bytes; empty → null', () => {
  each('raw', Buffer.alloc(12345, 7), 12345);
  assert.is(virtualSizeOf('raw', Buffer.alloc(0)), null);
});

t('qcow2: size at 24 once the 512-byte header is complete; wrong magic or short → null', () => {
  each('qcow2', qcow2(10n * BigInt(GiB)), 10 * GiB);
  each('qcow2', qcow2(1n << 40n, 4096), 2 ** 40);
  each('qcow2', qcow2(BigInt(GiB), 511), null); // truncated: Glance needs the whole 512-byte header
  each('qcow2', qcow2(0n), null); // size 0 is "unknown"
  const bad = qcow2(BigInt(GiB));
  bad[3] = 0xfa;
  each('qcow2', bad, null);
  each('qcow2', Buffer.alloc(4096), null);
  each('qcow2', qcow2(1n << 60n), 2 ** 60);
  each('qcow2', qcow2(1n << 63n), null); // beyond Glance's BIGINT column
});

t('vmdk: monolithicSparse and streamOptimized give sectors × 512; others, footers, bad headers → null', () => {
  each('vmdk', vmdk(2097152n), GiB);
  each('vmdk', vmdk(4194304n, { createType: 'streamOptimized' }), 2 * GiB);
  each('vmdk', vmdk(2097152n, { createType: 'monolithicFlat' }), null);
  each('vmdk', vmdk(2097152n, { createType: 'twoGbMaxExtentSparse' }), null);
  each('vmdk', vmdk(2097152n, { ver: 4 }), null);
  each('vmdk', vmdk(2097152n, { gdAtEnd: true }), null);
  each('vmdk', vmdk(2097152n, { descSec: 2n }), null);
  each('vmdk', vmdk(2097152n).subarray(0, 512 + 600), null); // descriptor cut short
  each('vmdk', vmdk(2097152n, { createType: 'x' }).fill(0, 512), null); // no createType (Glance: 400 on the upload)
  each('vmdk', qcow2(BigInt(GiB)), null);
});

t('vdi: signature at 0x40, size at 0x170', () => {
  each('vdi', vdi(5n * BigInt(GiB)), 5 * GiB);
  each('vdi', vdi(BigInt(GiB)).subarray(0, 400), null);
  each('vdi', qcow2(BigInt(GiB)), null);
});

t('vhd: the footer copy at offset 0 (dynamic disks); a fixed disk has it only at the end → null', () => {
  each('vhd', vhd(BigInt(GiB)), GiB);
  const fixed = Buffer.alloc(4096);
  vhd(BigInt(GiB)).copy(fixed, 4096 - 512, 0, 512);
  each('vhd', fixed, null);
});

t('vhdx: identity, region table, metadata table, virtual disk size item', () => {
  each('vhdx', vhdx(7n * BigInt(GiB)), 7 * GiB, BIG_CHUNKS);
  each('vhdx', vhdx(1n << 40n, 3 << 20), 2 ** 40, BIG_CHUNKS);
  each('vhdx', vhdx(BigInt(GiB)).subarray(0, (1 << 20) + 0x10004), null, BIG_CHUNKS); // ends inside the size item
  const noIdent = vhdx(BigInt(GiB));
  noIdent.fill(0, 0, 8);
  each('vhdx', noIdent, null, BIG_CHUNKS);
  const noRegi = vhdx(BigInt(GiB));
  noRegi.fill(0, 192 << 10, (192 << 10) + 4);
  each('vhdx', noRegi, null, BIG_CHUNKS);
});

t('formats Glance has no inspector for, and when Glance inspects at all', () => {
  for (const f of ['iso', 'ami', 'aki', 'ari', 'ploop', 'qed', 'nonsense', '__proto__']) assert.is(createInspector(f), null, f);
  assert.is(createInspector(null), null);
  assert.is(formatToInspect({ disk_format: 'qcow2', container_format: 'bare', virtual_size: null }), 'qcow2');
  assert.is(formatToInspect({ disk_format: 'raw', container_format: 'ovf', virtual_size: null }), null);
  assert.is(formatToInspect({ disk_format: 'qcow2', container_format: 'bare', virtual_size: 5 }), null);
});

t('keeps only the header, not the data', () => {
  // a 64 MiB qcow2 fed in 1 MiB slots: the inspector must not hold on to the slots
  const i = createInspector('qcow2')!;
  const slot = Buffer.alloc(1 << 20);
  qcow2(BigInt(GiB)).copy(slot);
  i.eat(slot);
  slot.fill(0xff); // the slot is reused for the next bytes
  for (let n = 1; n < 64; n++) i.eat(slot);
  assert.is(i.virtualSize, GiB);
});

t.run();
