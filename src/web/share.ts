/**
 * Scenarios in URLs: `#s=<base64url of the UTF-8 text>&n=<step>`, and
 * `#example=<name>&n=<step>` for a bundled example.
 */
export interface HashState {
  source?: string;
  example?: string;
  step?: number;
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function encodeHash(state: HashState): string {
  const parts: string[] = [];
  if (state.source !== undefined) parts.push('s=' + toBase64Url(new TextEncoder().encode(state.source)));
  else if (state.example !== undefined) parts.push('example=' + encodeURIComponent(state.example));
  if (state.step !== undefined && state.step > 0) parts.push('n=' + state.step);
  return '#' + parts.join('&');
}

export function decodeHash(hash: string): HashState {
  const out: HashState = {};
  for (const part of hash.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    try {
      if (key === 's') out.source = new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(value));
      else if (key === 'example') out.example = decodeURIComponent(value);
      else if (key === 'n' && /^\d+$/.test(value)) out.step = Number(value);
    } catch {
      // A damaged link: ignore that part.
    }
  }
  return out;
}
