import fs from 'node:fs';
import path from 'node:path';
import { ENV_KEYS } from '../../server/src/config/config';

const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README configuration table', () => {
  it.each(Object.entries(ENV_KEYS))('documents %s (%s)', (env, key) => {
    expect(readme).toContain(`\`${env}\``);
    expect(readme).toContain(`\`${key}\``);
  });
});
