// The coherence tests on mounts that cache names, negative entries and attributes under inode-bits locks (--cache-metadata), and the metadata cases.
import { coherenceTests } from './coherence-cases.ts';
import { metaCoherenceTests } from './meta-coherence-cases.ts';

coherenceTests('cohmeta', ['--cache-metadata']);
metaCoherenceTests('metacoh', ['--cache-metadata']);
