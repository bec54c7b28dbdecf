/**
 * Prints every join link of the configured conference: the central bridge's people
 * (chair, co-chair, operator, video wall) and one per provincial site.
 *   npm run links                        table
 *   npm run links -- --json              JSON (for mail merges and scripts)
 *   npm run links -- --reissue ha-noi    a new link for one hall (or person): the old one stops
 *                                        working at once, also on a running server (within 1 s),
 *                                        and after restarts
 */
import { baseUrlOf, joinLinks, loadRoster, principals } from '../app';
import { CredentialRegistry } from '../auth/CredentialRegistry';
import { loadSecret } from '../auth/credentials';
import { ConfigError, loadConfig, resolveDataDir } from '../config/config';
import { SqliteStore, storeFile } from '../store/SqliteStore';

const ROLE_LABEL: Record<string, string> = {
  chair: 'Chủ trì / Chair',
  cochair: 'Đồng chủ trì / Co-chair',
  operator: 'Thư ký, kỹ thuật / Operator',
  wall: 'Màn hình tường / Video wall',
};

function main(): number {
  const config = loadConfig();
  const roster = loadRoster(config.conference.roster);
  const dataDir = resolveDataDir(config);
  const secret = loadSecret(config.auth.secret, dataDir);
  const store = new SqliteStore(storeFile(dataDir));
  try {
    const registry = new CredentialRegistry(store);
    const i = process.argv.indexOf('--reissue');
    const reissue = i >= 0 ? process.argv[i + 1] : undefined;
    if (i >= 0) {
      if (!reissue || !principals(roster).includes(reissue)) {
        console.error(
          `--reissue needs a site code or one of chair, cochair, operator, wall (got "${reissue ?? ''}")`,
        );
        return 2;
      }
      registry.reissue(reissue, Date.now());
    }
    const links = joinLinks(
      config,
      roster,
      secret,
      baseUrlOf(config, config.http.port),
      Date.now(),
      registry.generation,
      reissue,
    );
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify(links, null, 2));
      return 0;
    }
    if (!reissue) console.log(`${config.conference.title} — ${roster.title}\n`);
    for (const l of links) {
      const who = l.role === 'site' ? l.site.name : (ROLE_LABEL[l.role] ?? l.role);
      console.log(`${who.padEnd(34)} ${l.url}`);
    }
    console.log(
      reissue
        ? `\nNew link, valid until ${links[0]?.expiresAt ?? '?'}. Every earlier link for "${reissue}" no longer works.`
        : `\n${links.length} links, valid until ${links[0]?.expiresAt ?? '?'}. Keep them private: a link is its holder's credential.`,
    );
    return 0;
  } finally {
    store.close();
  }
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : (e as Error).message);
  process.exit(1);
}
