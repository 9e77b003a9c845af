// The coherence tests on mounts that cache nothing (--no-cache): direct I/O, two mounts in separate processes see each other's changes at once.
import { coherenceTests } from './coherence-cases.ts';

coherenceTests('coher', ['--no-cache']);
