import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSpace } from '../../lib/space/index.js';
import { loadSearchSpace } from '../../lib/space/json-space.js';
import { checkSpaceProperties } from './properties.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

test('mlp: sampled and mutated architectures validate, round-trip, encode, and mutate by one decision', (t) => {
  checkSpaceProperties(t, getSpace('mlp'), { samples: 3000, neighbourSamples: 200 });
});

test('cnn: sampled and mutated architectures validate, round-trip, encode, and mutate by one decision', (t) => {
  checkSpaceProperties(t, getSpace('cnn'), { samples: 3000, neighbourSamples: 200 });
});

test('nb201: sampled and mutated architectures validate, round-trip, encode, and mutate by one decision', (t) => {
  checkSpaceProperties(t, getSpace('nb201'), { samples: 3000, neighbourSamples: 300 });
});

test('a user JSON mlp space with conditionals and a repeat passes the same checks', async (t) => {
  checkSpaceProperties(t, await loadSearchSpace(path.join(fixtures, 'user-mlp.json')), { samples: 3000, neighbourSamples: 300 });
});

test('a user JSON config space with nested repeats, tuples and chained conditionals passes the same checks', async (t) => {
  checkSpaceProperties(t, await loadSearchSpace(path.join(fixtures, 'user-config.json')), { samples: 3000, neighbourSamples: 300 });
});
