import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageNodeFlags } from '../support/image.js';

const root = new URL('../..', import.meta.url).pathname;

/** What runs locally (`npm start`) and in the bench must be what the image runs. */
describe('the node flags of the operator', () => {
  it('are the same in the image (Dockerfile ENTRYPOINT) and in hack/start.sh', () => {
    const image = imageNodeFlags(root);
    expect(image).toContain('--optimize-for-size');
    const start = readFileSync(`${root}/hack/start.sh`, 'utf8').match(/^exec node (.*) dist\/src\/main\.js "\$@"$/m);
    expect(start?.[1]?.split(/\s+/)).toEqual(image);
  });
});
