import fs from 'node:fs';
import path from 'node:path';
import { CLIENT_EVENTS, SERVER_EVENTS } from '../../protocol/events';
import { schemas } from '../../protocol/schemas';

const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

describe('docs/protocol.md', () => {
  it.each([...CLIENT_EVENTS, ...SERVER_EVENTS])('documents %s in a table row', (event) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${event}\` +\\|`, 'm'));
  });

  it('every event is named entity:verb, and every client event has a schema', () => {
    for (const e of [...CLIENT_EVENTS, ...SERVER_EVENTS]) expect(e).toMatch(/^[a-z]+:[a-z]+$/);
    expect(Object.keys(schemas).sort()).toEqual([...CLIENT_EVENTS].sort());
  });
});
