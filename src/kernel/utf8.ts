/**
 * UTF-8 for the strings the kernel sees as bytes (paths, argv, memfd names):
 * the model keeps them as JavaScript strings and uses no TextEncoder (the
 * kernel layer has no DOM or Node APIs). A lone surrogate encodes as U+FFFD.
 */

/** The UTF-8 bytes of `s`. */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** How many bytes utf8Encode(s) has. */
export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** `bytes` as a string: UTF-8, or byte by byte (Latin-1) where they are not valid UTF-8. */
export function utf8Decode(bytes: Uint8Array): string {
  const escaped = Array.from(bytes, (b) => '%' + b.toString(16).padStart(2, '0')).join('');
  try {
    return decodeURIComponent(escaped);
  } catch {
    return String.fromCharCode(...bytes);
  }
}
