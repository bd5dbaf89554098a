/** Issue 16's runtime findings against `workers: 2` (the suite: signals-health-suite.ts). */
import { signalsHealthSuite } from './signals-health-suite.js';

signalsHealthSuite(2);
