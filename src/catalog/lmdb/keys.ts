// Order-preserving binary keys for the catalog's indexes: comparing two encoded keys byte by byte gives the
// order in which the listing compares the values (src/images/query.ts cmp): null first, numbers by value,
// strings by UTF-16 code unit as JavaScript's `<` does. Each component is self-delimiting, so a key is a
// sequence of components and any prefix of components is a range.

export type KeyPart = string | number | boolean | null;

const NULL = 0x00;
const NUM = 0x01;
const STR = 0x02;

/**
 * One component: null, a non-negative number (float64 big-endian) or a string (UTF-16BE, 0x00 escaped as
 * 0x00 0xff, ended by 0x00).
 */
export function encodePart(v: KeyPart): Buffer {
  if (v === null || v === undefined) return Buffer.from([NULL]);
  if (typeof v === 'number' || typeof v === 'boolean') {
    const b = Buffer.allocUnsafe(9);
    b[0] = NUM;
    b.writeDoubleBE(Number(v), 1);
    return b;
  }
  const b = Buffer.allocUnsafe(v.length * 4 + 2);
  let at = 0;
  b[at++] = STR;
  for (let i = 0; i < v.length; i++) {
    const u = v.charCodeAt(i);
    const hi = u >> 8;
    const lo = u & 0xff;
    b[at++] = hi;
    if (hi === 0) b[at++] = 0xff;
    b[at++] = lo;
    if (lo === 0) b[at++] = 0xff;
  }
  b[at++] = 0x00;
  return b.subarray(0, at);
}

export function encodeKey(parts: readonly KeyPart[]): Buffer {
  return Buffer.concat(parts.map(encodePart));
}

/** Length in bytes of the component that starts at `at`. */
export function partLength(key: Uint8Array, at: number): number {
  const tag = key[at];
  if (tag === NULL) return 1;
  if (tag === NUM) return 9;
  let i = at + 1;
  for (;;) {
    if (key[i] === 0x00 && key[i + 1] !== 0xff) return i + 1 - at;
    i += key[i] === 0x00 ? 2 : 1;
  }
}

/** Byte offset where component `n` starts (n = number of components to skip). */
export function partOffset(key: Uint8Array, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at += partLength(key, at);
  return at;
}

export function decodePart(key: Uint8Array, at: number): KeyPart {
  const tag = key[at];
  if (tag === NULL) return null;
  if (tag === NUM) return Buffer.from(key.buffer, key.byteOffset + at + 1, 8).readDoubleBE(0);
  const units: number[] = [];
  let i = at + 1;
  const next = () => {
    const b = key[i];
    i += b === 0x00 ? 2 : 1;
    return b;
  };
  while (!(key[i] === 0x00 && key[i + 1] !== 0xff)) {
    const hi = next();
    const lo = next();
    units.push((hi << 8) | lo);
  }
  return String.fromCharCode(...units);
}

/** A key above every key that starts with `prefix` (components never start with 0xff). */
export const after = (prefix: Uint8Array): Buffer => Buffer.concat([prefix, Buffer.from([0xff])]);
