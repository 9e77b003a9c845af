// The coherence tests on the mount's defaults: file data in the page cache under the MDS's data locks, names and attributes under its inode-bits locks.
import { coherenceTests } from './coherence-cases.ts';

coherenceTests('cohcache', []);
