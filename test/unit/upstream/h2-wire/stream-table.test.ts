import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamTable } from '../../../../src/upstream/h2-wire/stream-table.js';
import { seededRandom } from '../../../helpers/seeded-random.js';

describe('StreamTable', () => {
  it('finds, deletes and lists streams by id', () => {
    const table = new StreamTable<{ id: number }>();
    const one = { id: 1 };
    const three = { id: 3 };
    table.add(one);
    table.add(three);
    assert.equal(table.size, 2);
    assert.equal(table.get(3), three);
    assert.equal(table.get(5), undefined);
    assert.equal(table.delete(1), true);
    assert.equal(table.delete(1), false);
    assert.equal(table.get(1), undefined);
    assert.deepEqual(table.values(), [three]);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(3), undefined);
  });

  it('agrees with a Map over random opens and closes, with long-lived streams colliding with new ids', () => {
    const random = seededRandom(7);
    const table = new StreamTable<{ id: number }>();
    const reference = new Map<number, { id: number }>();
    let nextId = 1;
    for (let step = 0; step < 50_000; step++) {
      const open = [...reference.keys()];
      // mostly short calls, a few that stay open for a long time, up to ~300 open at once
      if (open.length === 0 || (random() < 0.52 && open.length < 300)) {
        const stream = { id: nextId };
        nextId += 2;
        table.add(stream);
        reference.set(stream.id, stream);
      } else {
        const newest = open.slice(-40);
        const id = random() < 0.97 ? newest[Math.floor(random() * newest.length)]! : open[Math.floor(random() * open.length)]!;
        assert.equal(table.delete(id), true);
        reference.delete(id);
      }
      if (step % 997 === 0) {
        assert.equal(table.size, reference.size);
        for (const [id, stream] of reference) assert.equal(table.get(id), stream, `stream ${id} at step ${step}`);
        assert.deepEqual(table.values().map((s) => s.id).sort((a, b) => a - b), [...reference.keys()].sort((a, b) => a - b));
        assert.equal(table.get(nextId), undefined);
      }
    }
  });
});
