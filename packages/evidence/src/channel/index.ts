/** Channel-bound fresh attestation (draft-fossati-seat-expat-04): binder, report-data layout, framing. */

export * from './attester.js';
export * from './binder.js';
export * from './frame.js';
export * from './frame-buffer.js';
export * from './report-data-for.js';
