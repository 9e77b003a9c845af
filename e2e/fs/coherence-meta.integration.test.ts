// The coherence tests on mounts that cache pages but not names or attributes (--no-cache-metadata), and the metadata cases on the defaults (names, negative entries and attributes under inode-bits locks).
import { coherenceTests } from './coherence-cases.ts';
import { metaCoherenceTests } from './meta-coherence-cases.ts';

coherenceTests('cohpages', ['--no-cache-metadata']);
metaCoherenceTests('metacoh', []);
