#!/usr/bin/env node
// Runs the built CLI; from a source checkout without a build, run `npm run ratls -- …` instead.
import { main } from '../dist/main.js';
main(process.argv).then((code) => { process.exitCode = code; });
