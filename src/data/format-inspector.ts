/**
 * Virtual size of a disk image, read from its header while the bytes stream past. It follows what Glance 25's
 * format inspector (glance/common/format_inspector.py, called from glance/location.py set_data) answers for the
 * same bytes, checked side by side on qemu-img images, so an image gets the virtual_size Glance would give it. Only small regions of the stream are kept (512 bytes for most formats; for vhdx two
 * 64 KiB tables; for vmdk the descriptor, ≤ 1 MiB as in Glance), never the whole image.
 */

/** A region of the stream to keep, filled from whichever chunks cover it (Glance's CaptureRegion). */
class Region {
  private parts: Buffer[] = [];
  private have = 0;
  private joined: Buffer | null = null;

  constructor(
    readonly offset: number,
    public length: number,
  ) {}

  get complete(): boolean {
    return this.have >= this.length;
  }

  get data(): Buffer {
    this.joined ??= Buffer.concat(this.parts, this.have).subarray(0, this.length);
    this.parts = [this.joined];
    return this.joined;
  }

  /** `pos` is the stream position after `chunk`. Copies, since the caller reuses its buffers. */
  capture(chunk: Uint8Array, pos: number) {
    const start = pos - chunk.length;
    // Glance's condition, quirks included: a region that began before this chunk takes the chunk from its start.
    if ((start <= this.offset && this.offset <= pos) || (this.offset <= start && start <= this.offset + this.length)) {
      const lead = start < this.offset ? this.offset - start : 0;
      const take = chunk.subarray(lead, lead + Math.max(0, this.length - this.have));
      if (take.length === 0) return;
      this.parts.push(Buffer.from(take));
      this.have += take.length;
      this.joined = null;
    }
  }

  /** Stops capturing at what is there now (Glance shortens the vhdx metadata region this way). */
  truncate() {
    this.length = this.have;
    this.joined = null;
  }
}

class FormatError extends Error {}

/**
 * A header's u64 as a number. Up to 2^63 - 1 as Glance's BIGINT column holds (past 2^53 a double rounds it, but
 * sizes there are multiples of 512 and stay exact to 2^62); beyond that Glance's database refuses it: null.
 */
function u64(v: bigint): number | null {
  return v < 1n << 63n ? Number(v) : null;
}

/** Raw (and the base of every format): the virtual size is the number of bytes seen. */
class Inspector {
  protected total = 0;
  protected regions = new Map<string, Region>();
  private failed = false;

  /** Feeds the next chunk. A malformed header stops the inspection, never the upload (Glance's InfoWrapper). */
  eat(chunk: Uint8Array) {
    if (this.failed || chunk.length === 0) return;
    try {
      this.total += chunk.length;
      for (const r of this.regions.values()) if (!r.complete) r.capture(chunk, this.total);
      // Regions found from what was just read may start inside this chunk. Glance looks one step further per
      // chunk; repeating until nothing new appears gives the same answer whatever the chunk size.
      for (;;) {
        const before = new Set(this.regions.keys());
        this.postProcess();
        const added = [...this.regions.keys()].filter((k) => !before.has(k));
        if (added.length === 0) break;
        for (const k of added) this.regions.get(k)!.capture(chunk, this.total);
      }
    } catch {
      this.failed = true;
    }
  }

  protected postProcess() {}

  protected region(name: string): Region {
    return this.regions.get(name)!;
  }

  protected addRegion(name: string, r: Region) {
    if (this.regions.has(name)) throw new FormatError(`region ${name} added twice`);
    this.regions.set(name, r);
  }

  protected get formatMatch(): boolean {
    return true;
  }

  /** Size in bytes, 0 when unknown (as in Glance). */
  protected size(): number | null {
    return this.total;
  }

  /** What Glance would store: set only when the format matched and the size is known and non-zero. */
  get virtualSize(): number | null {
    if (!this.formatMatch) return null;
    let s: number | null;
    try {
      s = this.size();
    } catch {
      // Glance lets these escape set_data (the upload fails); imaged keeps the upload and leaves the size unset.
      return null;
    }
    return s ? s : null;
  }
}

/** A format whose answer is in a 512-byte header at the start. */
abstract class HeaderInspector extends Inspector {
  constructor() {
    super();
    this.addRegion('header', new Region(0, 512));
  }

  protected get header(): Buffer {
    return this.region('header').data;
  }
}

/** qcow2: big-endian, magic 'QFI\xfb', size in bytes (u64) at 24. */
class QcowInspector extends HeaderInspector {
  protected get formatMatch() {
    return this.region('header').complete && this.header.subarray(0, 4).equals(Buffer.from('QFI\xfb', 'latin1'));
  }
  protected size() {
    return this.region('header').complete ? u64(this.header.readBigUInt64BE(24)) : 0;
  }
}

/** vhd: the copy of the footer that dynamic disks keep at offset 0 ('conectix', current size BE u64 at 40). */
class VhdInspector extends HeaderInspector {
  protected get formatMatch() {
    return this.header.subarray(0, 8).toString('latin1') === 'conectix';
  }
  protected size() {
    return this.region('header').complete ? u64(this.header.readBigUInt64BE(40)) : 0;
  }
}

/** vdi: little-endian, signature 0xbeda107f at 0x40, disk size u64 at 0x170. */
class VdiInspector extends HeaderInspector {
  protected get formatMatch() {
    return this.region('header').complete && this.header.readUInt32LE(0x40) === 0xbeda107f;
  }
  protected size() {
    return this.region('header').complete ? u64(this.header.readBigUInt64LE(0x170)) : 0;
  }
}

/**
 * vmdk, monolithicSparse and streamOptimized only: 'KDMV' header (capacity in sectors, LE u64 at 12) and a
 * text descriptor right after it whose createType names the variant.
 */
class VmdkInspector extends HeaderInspector {
  private static readonly DESC_OFFSET = 0x200;
  private static readonly DESC_MAX = (1 << 20) - 1;
  private static readonly GD_AT_END = 0xffffffffffffffffn;

  protected postProcess() {
    if (!this.region('header').complete) return;
    const h = this.header;
    if (h.subarray(0, 4).toString('latin1') !== 'KDMV') throw new FormatError('signature KDMV not found');
    const ver = h.readUInt32LE(4);
    if (ver < 1 || ver > 3) throw new FormatError(`unsupported version ${ver}`);
    // a footer (grain directory at the end) overrides the header: not readable while streaming
    if (h.readBigUInt64LE(56) === VmdkInspector.GD_AT_END) throw new FormatError('unsupported VMDK footer');
    const descOffset = h.readBigUInt64LE(28) * 512n;
    const descSize = h.readBigUInt64LE(36) * 512n;
    if (descOffset !== BigInt(VmdkInspector.DESC_OFFSET)) throw new FormatError('wrong descriptor location');
    const len = descSize < BigInt(VmdkInspector.DESC_MAX) ? Number(descSize) : VmdkInspector.DESC_MAX;
    if (!this.regions.has('descriptor')) this.addRegion('descriptor', new Region(VmdkInspector.DESC_OFFSET, len));
  }

  protected get formatMatch() {
    return this.header.subarray(0, 4).toString('latin1') === 'KDMV';
  }

  protected size() {
    const d = this.regions.get('descriptor');
    if (!d?.complete) return 0;
    const key = 'createType="';
    const at = d.data.indexOf(key);
    if (at < 0) throw new FormatError('no createType in the descriptor');
    const from = at + key.length;
    const end = d.data.indexOf('"', from);
    // as Glance's descriptor[type_idx:type_end] with type_end == -1
    const type = end - from < 64 ? d.data.subarray(from, end < 0 ? d.data.length - 1 : end).toString('latin1') : '';
    if (type !== 'monolithicSparse' && type !== 'streamOptimized') return 0;
    const sectors = this.header.readBigUInt64LE(12);
    return u64(sectors * 512n);
  }
}

/** The on-disk (mixed-endian) bytes of a Microsoft GUID string. */
export function guidBytes(s: string): Buffer {
  const [a, b, c, d, e] = s.split('-');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(parseInt(a, 16), 0);
  out.writeUInt16LE(parseInt(b, 16), 4);
  out.writeUInt16LE(parseInt(c, 16), 6);
  Buffer.from(d + e, 'hex').copy(out, 8);
  return out;
}

/**
 * vhdx: 'vhdxfile' identity; the region table at 192 KiB points to the metadata region, whose table points to
 * the Virtual Disk Size item (LE u64).
 */
class VhdxInspector extends Inspector {
  private static readonly METAREGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
  private static readonly VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
  private static readonly TABLE_MAX = 32 * 2048;

  constructor() {
    super();
    this.addRegion('ident', new Region(0, 32));
    this.addRegion('header', new Region(192 * 1024, 64 * 1024));
  }

  protected postProcess() {
    if (this.region('header').complete && !this.regions.has('metadata')) {
      const r = this.findMetaRegion();
      if (r) this.addRegion('metadata', r);
    } else if (this.regions.has('metadata') && !this.regions.has('vds')) {
      const r = this.findMetaEntry(VhdxInspector.VIRTUAL_DISK_SIZE);
      if (r) this.addRegion('vds', r);
    }
  }

  private findMetaRegion(): Region | null {
    const h = this.region('header').data;
    if (h.readUInt32LE(0) !== 0x69676572) throw new FormatError('region signature not found');
    const count = h.readUInt32LE(8);
    if (count >= 2048) throw new FormatError(`region count is ${count} (limit 2047)`);
    for (let i = 0; i < count; i++) {
      const e = 16 + i * 32;
      if (h.subarray(e, e + 16).equals(VhdxInspector.METAREGION)) {
        // only the table is needed, not the whole (possibly large) metadata region
        return new Region(Number(h.readBigUInt64LE(e + 16)), 2048 * 32);
      }
    }
    return null;
  }

  private findMetaEntry(guid: Buffer): Region | null {
    const meta = this.region('metadata');
    const m = meta.data;
    if (m.length < 32) return null;
    if (m.subarray(0, 8).toString('latin1') !== 'metadata') throw new FormatError('invalid metadata region signature');
    const count = m.readUInt16LE(10);
    if (m.length < 32 + count * 32) return null;
    if (count >= 2048) throw new FormatError(`metadata item count is ${count} (limit 2047)`);
    for (let i = 0; i < count; i++) {
      const e = 32 + i * 32;
      if (m.subarray(e, e + 16).equals(guid)) {
        const itemOffset = m.readUInt32LE(e + 16);
        const itemLength = Math.min(m.readUInt32LE(e + 20), VhdxInspector.TABLE_MAX);
        meta.truncate();
        return new Region(meta.offset + itemOffset, itemLength);
      }
    }
    return null;
  }

  protected get formatMatch() {
    return this.region('ident').data.subarray(0, 8).toString('latin1') === 'vhdxfile';
  }

  protected size() {
    const r = this.regions.get('vds');
    if (!r?.complete) return 0;
    // Glance unpacks '<Q' from the item, which must then be exactly 8 bytes
    if (r.data.length !== 8) throw new FormatError(`virtual disk size item is ${r.data.length} bytes`);
    return u64(r.data.readBigUInt64LE(0));
  }
}

/** Glance's ALL_FORMATS minus qed, which imaged does not accept as a disk_format. iso, ami, aki, ari, ploop: none. */
const INSPECTORS: Record<string, () => Inspector> = {
  raw: () => new Inspector(),
  qcow2: () => new QcowInspector(),
  vhd: () => new VhdInspector(),
  vhdx: () => new VhdxInspector(),
  vmdk: () => new VmdkInspector(),
  vdi: () => new VdiInspector(),
};

export interface SizeInspector {
  eat(chunk: Uint8Array): void;
  /** The virtual size once every byte has been eaten; null when the format has none or did not match. */
  readonly virtualSize: number | null;
}

/** An inspector for a disk_format, or null when Glance has none for it. */
export function createInspector(diskFormat: string | null): SizeInspector | null {
  return (diskFormat && Object.hasOwn(INSPECTORS, diskFormat) && INSPECTORS[diskFormat]()) || null;
}

/**
 * The disk_format to inspect while an image's data arrives, or null. Like Glance's set_data: only for bare
 * containers (the header of an ova/ovf/docker tarball is not the disk's) and only while the size is unknown.
 */
export function formatToInspect(img: { disk_format: string | null; container_format: string | null; virtual_size: number | null }): string | null {
  return img.container_format === 'bare' && !img.virtual_size ? img.disk_format : null;
}

/** The virtual size of a whole image held in memory, fed in `chunk`-byte pieces (tests, tools). */
export function virtualSizeOf(diskFormat: string, data: Uint8Array, chunk = 65536): number | null {
  const i = createInspector(diskFormat);
  if (!i) return null;
  for (let off = 0; off < data.length; off += chunk) i.eat(data.subarray(off, off + chunk));
  return i.virtualSize;
}
