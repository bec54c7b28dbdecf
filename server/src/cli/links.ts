/**
 * Prints every join link of the configured conference: the chair's and one per site.
 *   npm run links              table
 *   npm run links -- --json    JSON (for mail merges and scripts)
 */
import { baseUrlOf, joinLinks, loadRoster } from '../app';
import { loadSecret } from '../auth/tokens';
import { ConfigError, loadConfig, resolveDataDir } from '../config/config';

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
    const who = l.role === 'chair' ? `Chủ trì / Chair (${l.site.name})` : l.site.name;
    console.log(`${who.padEnd(34)} ${l.url}`);
  }
  console.log(`\n${links.length} links. Keep them private: a link is the site's credential.`);
}

try {
  main();
} catch (e) {
  console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : (e as Error).message);
  process.exit(1);
}
