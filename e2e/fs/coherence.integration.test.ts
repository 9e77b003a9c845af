// The coherence tests on the mount's defaults: two mounts in separate processes see each other's changes at once.
import { coherenceTests } from './coherence-cases.ts';

coherenceTests('coher', []);
