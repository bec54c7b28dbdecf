/**
 * A load-generator process: runs synthetic halls on the orders of the load benchmark (IPC), so
 * that the halls spread over several processes (one Node process uses one core) and their CPU is
 * counted apart from the server's.
 *   → { type: 'add', url, sites: [{ code, token }] }    ← { type: 'added', joins: [{ code, ms }], failed: [...] }
 *   → { type: 'request', code, title }                   ← { type: 'requested', ok, error? }
 *   → { type: 'stats' }                                  ← { type: 'stats', cpuMicros, sites: [...] }
 *   → { type: 'stop' }                                   (exits)
 */
import { SyntheticSite, request } from './syntheticSite';

export type GeneratorOrder =
  | { type: 'add'; url: string; sites: { code: string; token: string }[] }
  | { type: 'request'; code: string; title: string }
  | { type: 'stats' }
  | { type: 'stop' };

export interface SiteStats {
  code: string;
  sent: { microphone: number; camera: Record<string, number> };
  received: { from: string; source: string; packets: number; firstAt: number | null }[];
  disconnected: boolean;
  unknownPackets: number;
}

export type GeneratorReport =
  | { type: 'added'; joins: { code: string; ms: number }[]; failed: { code: string; error: string }[] }
  | { type: 'requested'; ok: boolean; error?: string }
  | { type: 'stats'; cpuMicros: number; sites: SiteStats[] };

const sites = new Map<string, SyntheticSite>();
const send = (r: GeneratorReport) => process.send?.(r);

process.on('message', (m: GeneratorOrder) => {
  void (async () => {
    if (m.type === 'add') {
      const joins: { code: string; ms: number }[] = [];
      const failed: { code: string; error: string }[] = [];
      for (const s of m.sites) {
        try {
          const site = await new SyntheticSite(m.url, s.token, s.code).start();
          sites.set(s.code, site);
          joins.push({ code: s.code, ms: site.joinMs ?? 0 });
        } catch (e) {
          failed.push({ code: s.code, error: (e as Error).message });
        }
      }
      send({ type: 'added', joins, failed });
    } else if (m.type === 'request') {
      const site = sites.get(m.code);
      try {
        if (!site) throw new Error(`no site ${m.code} here`);
        await request(site.socket, 'floor:request', { title: m.title });
        send({ type: 'requested', ok: true });
      } catch (e) {
        send({ type: 'requested', ok: false, error: (e as Error).message });
      }
    } else if (m.type === 'stats') {
      const u = process.cpuUsage();
      send({
        type: 'stats',
        cpuMicros: u.user + u.system,
        sites: [...sites.values()].map((s) => ({
          code: s.name,
          sent: s.sent(),
          received: s
            .received()
            .map((r) => ({ from: r.from, source: r.source, packets: r.packets, firstAt: r.firstAt })),
          disconnected: s.disconnected,
          unknownPackets: s.unknownPackets,
        })),
      });
    } else if (m.type === 'stop') {
      await Promise.all([...sites.values()].map((s) => s.stop()));
      process.exit(0);
    }
  })();
});
