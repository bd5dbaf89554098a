/** Issue 16's runtime findings against a single-process gateway (the suite: signals-health-suite.test-helper.ts). */
import { signalsHealthSuite } from './signals-health-suite.test-helper.js';

signalsHealthSuite(1);
