/**
 * Prints every join link of the configured conference: the central bridge's people
 * (chair, co-chair, operator, video wall) and one per provincial site.
 *   npm run links              table
 *   npm run links -- --json    JSON (for mail merges and scripts)
 */
import { baseUrlOf, joinLinks, loadRoster } from '../app';
import { loadSecret } from '../auth/credentials';
import { ConfigError, loadConfig, resolveDataDir } from '../config/config';

const ROLE_LABEL: Record<string, string> = {
  chair: 'Chủ trì / Chair',
  cochair: 'Đồng chủ trì / Co-chair',
  operator: 'Thư ký, kỹ thuật / Operator',
  wall: 'Màn hình tường / Video wall',
};

function main(): void {
  const config = loadConfig();
  const roster = loadRoster(config.conference.roster);
  const secret = loadSecret(config.auth.secret, resolveDataDir(config));
  const links = joinLinks(config, roster, secret, baseUrlOf(config, config.http.port));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(links, null, 2));
    return;
  }
  console.log(`${config.conference.title} — ${roster.title}\n`);
  for (const l of links) {
    const who = l.role === 'site' ? l.site.name : (ROLE_LABEL[l.role] ?? l.role);
    console.log(`${who.padEnd(34)} ${l.url}`);
  }
  console.log(
    `\n${links.length} links, valid until ${links[0]?.expiresAt ?? '?'}. Keep them private: a link is its holder's credential.`,
  );
}

try {
  main();
} catch (e) {
  console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : (e as Error).message);
  process.exit(1);
}
