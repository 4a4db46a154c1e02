// glance_store's RBD location: rbd://<fsid>/<pool>/<image>/<snapshot>, each part URL-quoted;
// the legacy form rbd://<image> names an image in the store's own pool.

export interface RbdLocation {
  fsid: string | null;
  pool: string | null;
  image: string;
  snap: string | null;
}

const q = (s: string) => encodeURIComponent(s);

export function formatRbdUrl(l: { fsid: string; pool: string; image: string; snap: string }): string {
  return `rbd://${q(l.fsid)}/${q(l.pool)}/${q(l.image)}/${q(l.snap)}`;
}

export function parseRbdUrl(url: string): RbdLocation | null {
  if (!url.startsWith('rbd://')) return null;
  const parts = url.slice('rbd://'.length).split('/');
  try {
    const d = parts.map((p) => decodeURIComponent(p));
    if (d.some((p) => p === '')) return null;
    if (d.length === 1) return { fsid: null, pool: null, image: d[0], snap: null };
    if (d.length === 4) return { fsid: d[0], pool: d[1], image: d[2], snap: d[3] };
  } catch {
    /* malformed escape */
  }
  return null;
}
