/** Issue 16's runtime findings against `workers: 2` (the suite: signals-health-suite.test-helper.ts). */
import { signalsHealthSuite } from './signals-health-suite.test-helper.js';

signalsHealthSuite(2);
