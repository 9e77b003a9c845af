// The coherence tests on the mount's defaults: file data in the page cache under the MDS's data locks.
import { coherenceTests } from './coherence-cases.ts';

coherenceTests('cohcache', []);
