/** Issue 16's runtime findings against a single-process gateway (the suite: signals-health-suite.ts). */
import { signalsHealthSuite } from './signals-health-suite.js';

signalsHealthSuite(1);
