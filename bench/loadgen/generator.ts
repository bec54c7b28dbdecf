/**
 * A load-generator process: runs synthetic halls on the orders of the load benchmark (IPC), so
 * that the halls spread over several processes (one Node process uses one core) and their CPU is
 * counted apart from the server's.
 *   → { type: 'add', url, sites: [{ code, token, atMs? }], startAt? } ← { type: 'added', joins: [{ code, ms }], failed: [...] }
 *     (without atMs one after another; with atMs each opens its link that many ms after startAt
 *     (epoch ms, one moment for every generator; the order's arrival without it), all at once:
 *     a join storm)
 *   → { type: 'leave' }                                  ← { type: 'left' }   (every site closes its session)
 *   → { type: 'request', code, title }                   ← { type: 'requested', ok, error? }
 *   → { type: 'stats' }                                  ← { type: 'stats', cpuMicros, sites: [...] }
 *   → { type: 'stop' }                                   (exits)
 */
import { type Received, SyntheticSite, request } from './syntheticSite';

export type GeneratorOrder =
  | { type: 'add'; url: string; sites: { code: string; token: string; atMs?: number }[]; startAt?: number }
  | { type: 'leave' }
  | { type: 'request'; code: string; title: string }
  | { type: 'stats' }
  | { type: 'stop' };

export interface SiteStats {
  code: string;
  sent: { microphone: number; camera: Record<string, number> };
  /** Per consumer, as the site counts it (bench/loadgen/syntheticSite.ts). */
  received: Received[];
  disconnected: boolean;
  disconnects: number;
  sessions: number;
  openedAt: number | null;
  readyAt: number | null;
  /** When the current session first had the chair's audio and video (epoch ms). */
  programmeAt: number | null;
  unknownPackets: number;
}

export type GeneratorReport =
  | { type: 'added'; joins: { code: string; ms: number }[]; failed: { code: string; error: string }[] }
  | { type: 'left' }
  | { type: 'requested'; ok: boolean; error?: string }
  | { type: 'stats'; cpuMicros: number; sites: SiteStats[] };

const sites = new Map<string, SyntheticSite>();
// Started in its own session by the benchmark: without it, nothing else would stop it.
process.on('disconnect', () => process.exit(0));
const send = (r: GeneratorReport) => process.send?.(r);

process.on('message', (m: GeneratorOrder) => {
  void (async () => {
    if (m.type === 'add') {
      const joins: { code: string; ms: number }[] = [];
      const failed: { code: string; error: string }[] = [];
      const open = async (s: { code: string; token: string }) => {
        try {
          const site = await new SyntheticSite(m.url, s.token, s.code, { reconnect: true }).start();
          sites.set(s.code, site);
          joins.push({ code: s.code, ms: site.joinMs ?? 0 });
        } catch (e) {
          failed.push({ code: s.code, error: (e as Error).message });
        }
      };
      if (m.sites.every((s) => s.atMs === undefined)) {
        for (const s of m.sites) await open(s);
      } else {
        // The storm: every link opens at its own moment, none waits for another.
        const startAt = m.startAt ?? Date.now();
        await Promise.all(
          m.sites.map(
            (s) =>
              new Promise<void>((r) =>
                setTimeout(() => void open(s).then(r), Math.max(0, startAt + (s.atMs ?? 0) - Date.now())),
              ),
          ),
        );
      }
      send({ type: 'added', joins, failed });
    } else if (m.type === 'leave') {
      await Promise.all([...sites.values()].map((s) => s.stop()));
      sites.clear();
      send({ type: 'left' });
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
          received: s.received(),
          disconnected: s.disconnected,
          disconnects: s.disconnects,
          sessions: s.sessions,
          openedAt: s.openedAt,
          readyAt: s.readyAt,
          programmeAt: s.programmeAt(),
          unknownPackets: s.unknownPackets,
        })),
      });
    } else if (m.type === 'stop') {
      await Promise.all([...sites.values()].map((s) => s.stop()));
      process.exit(0);
    }
  })();
});
