// The coherence tests on mounts that keep file data in the page cache under data locks (--cached).
import { coherenceTests } from './coherence-cases.ts';

coherenceTests('cohcache', ['--cached']);
