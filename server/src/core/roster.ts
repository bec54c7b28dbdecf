/**
 * The roster of a conference: the central bridge plus the provincial sites.
 * Rosters are data (config/rosters/*.json); this module parses and checks them.
 */
import { z } from 'zod';
import type { SiteInfo } from '../../../protocol/events';

const siteSchema = z.strictObject({
  code: z.string().regex(/^[a-z0-9-]{1,48}$/, 'lowercase letters, digits and dashes'),
  name: z.string().min(1).max(120),
  nameEn: z.string().min(1).max(120).optional(),
  kind: z.enum(['central', 'city', 'province']),
  formedFrom: z.array(z.string()).optional(),
});

export const rosterSchema = z.strictObject({
  id: z.string().min(1),
  title: z.string().min(1),
  note: z.string().optional(),
  sites: z.array(siteSchema).min(2),
});

export interface Roster {
  id: string;
  title: string;
  central: SiteInfo;
  /** All sites, central first, in roster order. */
  sites: SiteInfo[];
}

export class RosterError extends Error {
  override name = 'RosterError';
}

export function parseRoster(data: unknown, source: string): Roster {
  const r = rosterSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RosterError(`roster ${source}: ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
  }
  const seen = new Set<string>();
  for (const s of r.data.sites) {
    if (seen.has(s.code)) throw new RosterError(`roster ${source}: site code "${s.code}" appears twice`);
    seen.add(s.code);
  }
  const centrals = r.data.sites.filter((s) => s.kind === 'central');
  if (centrals.length !== 1)
    throw new RosterError(`roster ${source}: needs exactly one site of kind "central"`);
  const sites = r.data.sites.map(({ code, name, kind }) => ({ code, name, kind }));
  return {
    id: r.data.id,
    title: r.data.title,
    central: sites.find((s) => s.kind === 'central') as SiteInfo,
    sites,
  };
}
