/**
 * Every user-visible string exists in Vietnamese and English: the two locale files have the
 * same keys, none empty, and every key the consoles use (in code and in the HTML) is defined.
 */
import fs from 'node:fs';
import path from 'node:path';
import en from '../../client/src/i18n/en.json';
import vi from '../../client/src/i18n/vi.json';

const CLIENT = path.join(__dirname, '..', '..', 'client');

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

const PREFIXES = [
  'app',
  'lang',
  'state',
  'error',
  'reason',
  'site',
  'chair',
  'tile',
  'index',
  'phase',
  'action',
  'confirm',
  'layout',
  'wall',
  'operator',
  'rollcall',
];
const KEY = new RegExp(`['"\`]((?:${PREFIXES.join('|')})\\.[A-Za-z_]+)['"\`]`, 'g');

describe('locale files', () => {
  it('Vietnamese and English have exactly the same keys, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
    for (const [k, v] of [...Object.entries(vi), ...Object.entries(en)])
      expect({ k, empty: v.trim() === '' }).toEqual({ k, empty: false });
  });

  it('every key used in the client code and pages is defined', () => {
    const used = new Set<string>();
    for (const f of files(path.join(CLIENT, 'src'), '.ts'))
      for (const m of fs.readFileSync(f, 'utf8').matchAll(KEY)) used.add(m[1] as string);
    for (const f of files(path.join(CLIENT, 'public'), '.html')) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1] as string);
    }
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used].filter((k) => !(k in vi));
    expect(missing).toEqual([]);
  });

  it.each([
    ['phase', ['scheduled', 'open', 'in_session', 'concluded', 'closed']],
    ['state', ['connecting', 'joining', 'connected', 'reconnecting', 'refused', 'closed']],
    ['layout', ['speaker', 'speaker_presentation', 'presentation', 'grid']],
    ['rollcall', ['unknown', 'present', 'absent']],
    ['reason', ['replaced', 'server-shutdown', 'media-restart', 'expired', 'revoked']],
    [
      'error',
      [
        'AUTH_REQUIRED',
        'AUTH_INVALID_TOKEN',
        'AUTH_EXPIRED',
        'AUTH_REVOKED',
        'FORBIDDEN',
        'WRONG_STATE',
        'BAD_REQUEST',
        'MEDIA_ERROR',
        'RATE_LIMITED',
        'generic',
      ],
    ],
  ])('defines every %s.* key the code builds at run time', (family, values) => {
    for (const v of values) expect(vi).toHaveProperty([`${family}.${v}`]);
  });
});
