import { loadRoster } from '../../server/src/app';
import { RosterError, parseRoster } from '../../server/src/core/roster';
import r2025 from '../../config/rosters/vn-2025.json';

describe('rosters in config/', () => {
  it('vn-2021: the central bridge plus the 63 provincial-level units of 2021', () => {
    const r = loadRoster('vn-2021');
    expect(r.sites).toHaveLength(64);
    expect(r.central.kind).toBe('central');
    expect(r.sites.filter((s) => s.kind === 'city')).toHaveLength(5);
    expect(r.sites.filter((s) => s.kind === 'province')).toHaveLength(58);
    expect(r.sites.map((s) => s.name)).toEqual(
      expect.arrayContaining(['Hà Nội', 'Thừa Thiên Huế', 'Đắk Lắk']),
    );
  });

  it('vn-2025: the central bridge plus the 34 units in force since 1 July 2025', () => {
    const r = loadRoster('vn-2025');
    expect(r.sites).toHaveLength(35);
    expect(r.sites.filter((s) => s.kind === 'city')).toHaveLength(6);
    expect(r.sites.filter((s) => s.kind === 'province')).toHaveLength(28);
  });

  it('every 2025 unit is formed from 2021 units by their codes, each 2021 unit used once', () => {
    const codes2021 = new Set(loadRoster('vn-2021').sites.map((s) => s.code));
    const used = r2025.sites.flatMap((s) => (s as { formedFrom?: string[] }).formedFrom ?? []);
    expect(used.every((c) => codes2021.has(c))).toBe(true);
    expect(new Set(used).size).toBe(used.length);
    expect(used).toHaveLength(63);
  });

  it('codes are stable ASCII slugs and unique', () => {
    const codes = loadRoster('vn-2021').sites.map((s) => s.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toContain('ha-noi');
    expect(codes).toContain('ho-chi-minh');
    for (const c of codes) expect(c).toMatch(/^[a-z0-9-]+$/);
  });

  it('refuses duplicate codes and a roster without exactly one central bridge', () => {
    const central = { code: 'tw', name: 'Trung ương', kind: 'central' };
    const site = { code: 'a', name: 'A', kind: 'province' };
    expect(() => parseRoster({ id: 'x', title: 'x', sites: [central, site, site] }, 'x')).toThrow(
      RosterError,
    );
    expect(() => parseRoster({ id: 'x', title: 'x', sites: [site, { ...site, code: 'b' }] }, 'x')).toThrow(
      /central/,
    );
  });

  it('names an unreadable roster file', () => {
    expect(() => loadRoster('no-such-roster')).toThrow(/no-such-roster/);
  });
});
