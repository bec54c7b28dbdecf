/**
 * An attacker holding one ordinary join link: opens many sockets on it at once, and every socket
 * let in floods requests as fast as the server answers (requests, withdrawals, junk); a socket cut
 * off for flooding connects again at once, a bounded number of times. Used by the hostile test
 * (what is refused) and the flood benchmark (what it costs the chair).
 */
import { type TestSocket, connect, request } from './wsClient';

export interface FloodFigures {
  sockets: number;
  admitted: number;
  refused: number;
  refusedCodes: string[];
  cutForFlooding: number;
  reconnects: number;
  reconnectsRefused: number;
  answers: Record<string, number>;
}

export interface LinkFlood {
  /** Sockets the server let in at the start. */
  readonly admitted: number;
  /** Resolves when the server first cuts a flooding socket off. */
  readonly firstCut: Promise<void>;
  stop(): Promise<FloodFigures>;
}

export async function floodOneLink(
  url: string,
  token: string,
  opts: { sockets?: number; maxReconnectsPerSocket?: number } = {},
): Promise<LinkFlood> {
  const total = opts.sockets ?? 20;
  const maxReconnects = opts.maxReconnectsPerSocket ?? 50;
  const attempts = await Promise.allSettled(Array.from({ length: total }, () => connect(url, token)));
  const inside = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const refusedCodes = attempts.flatMap((a) =>
    a.status === 'rejected' ? [String((a.reason as { code?: string }).code ?? '?')] : [],
  );
  // One of them joins (a second join on the same link would replace the first session).
  if (inside[0]) await request(inside[0], 'session:join', {});

  let flooding = true;
  const answers = new Map<string, number>();
  let cuts = 0;
  let reconnects = 0;
  let reconnectsRefused = 0;
  const open = new Set<TestSocket>();
  let onCut: () => void = () => undefined;
  const firstCut = new Promise<void>((resolve) => {
    onCut = resolve;
  });
  const watch = (s: TestSocket) => {
    open.add(s);
    s.on('disconnect', (reason) => {
      if (reason !== 'io server disconnect') return;
      cuts += 1;
      onCut();
    });
    return s;
  };
  const flood = async (first: TestSocket) => {
    let s = watch(first);
    let n = 0;
    let mine = 0;
    while (flooding && n < 50_000) {
      if (!s.connected) {
        s.close();
        if (mine >= maxReconnects) break;
        mine += 1;
        reconnects += 1;
        try {
          s = watch(await connect(url, token));
        } catch {
          reconnectsRefused += 1;
        }
        continue;
      }
      const batch = Array.from({ length: 50 }, (_, i) => {
        n += 1;
        const pick = (n + i) % 3;
        return pick === 0
          ? request(s, 'floor:request', { title: 'Xin phát biểu' })
          : pick === 1
            ? request(s, 'floor:withdraw', { requestId: 'r-1' })
            : request(s, 'transport:create', { direction: 'recv' });
      });
      for (const x of await Promise.allSettled(batch)) {
        const code = x.status === 'rejected' ? 'NO_ANSWER' : x.value.ok ? 'ACCEPTED' : x.value.error.code;
        answers.set(code, (answers.get(code) ?? 0) + 1);
      }
    }
  };
  const floods = inside.map((s) => flood(s));
  return {
    admitted: inside.length,
    firstCut,
    async stop() {
      flooding = false;
      for (const s of open) s.close();
      await Promise.all(floods);
      return {
        sockets: total,
        admitted: inside.length,
        refused: refusedCodes.length,
        refusedCodes: [...new Set(refusedCodes)],
        cutForFlooding: cuts,
        reconnects,
        reconnectsRefused,
        answers: Object.fromEntries(answers),
      };
    },
  };
}

/**
 * The chair's command round-trips, in milliseconds: `n` layout changes one after another, each
 * sent `intervalMs` after the previous one was sent (0: as soon as it is answered). The chair is
 * a credential like any other: beyond its burst it is rate-limited too.
 */
export async function chairRoundTrips(chair: TestSocket, n: number, intervalMs = 0): Promise<number[]> {
  const out: number[] = [];
  const layouts = ['grid', 'speaker'] as const;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const next = intervalMs ? new Promise((resolve) => setTimeout(resolve, intervalMs)) : null;
    const r = await request(chair, 'layout:set', { layout: layouts[i % 2] });
    out.push(performance.now() - t0);
    if (!r.ok) throw new Error(`the chair's command was refused: ${r.error.code}`);
    await next;
  }
  return out;
}
