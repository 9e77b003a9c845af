// The coherence tests with one caching and one uncached mount (--no-cache): an uncached writer takes PW too, so the cached reader drops its pages.
import { describe } from 'node:test';
import { coherenceTests } from './coherence-cases.ts';

describe('A caches, B does not', () => coherenceTests('cohmixa', { a: ['--cached'], b: [] }));
describe('A does not cache, B does', () => coherenceTests('cohmixb', { a: [], b: ['--cached'] }));
