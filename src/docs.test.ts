import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from './config.ts';

describe('documentation', () => {
  it('lists every configuration key in the README and .env.example', () => {
    const readme = readFileSync('README.md', 'utf8');
    const example = readFileSync('.env.example', 'utf8');
    for (const key of Object.keys(CONFIG_KEYS)) {
      expect(readme, key).toContain(`| \`${key}\` |`);
      expect(example, key).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
    }
  });
});
