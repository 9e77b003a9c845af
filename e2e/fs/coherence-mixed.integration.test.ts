// The coherence tests with one caching mount (the default) and one that caches nothing (--no-cache): an uncached writer takes PW too, so the caching reader drops its pages.
import { describe } from 'node:test';
import { coherenceTests } from './coherence-cases.ts';

describe('A caches, B does not', () => coherenceTests('cohmixa', { a: [], b: ['--no-cache'] }));
describe('A does not cache, B does', () => coherenceTests('cohmixb', { a: ['--no-cache'], b: [] }));
