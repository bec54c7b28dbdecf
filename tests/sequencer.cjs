// Runs unit → integration → e2e, each group in path order.
const Sequencer = require('@jest/test-sequencer').default;

const rank = (p) => (p.includes('/unit/') ? 0 : p.includes('/integration/') ? 1 : 2);

module.exports = class extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }
};
