/** Channel-bound fresh attestation (draft-fossati-seat-expat-04): binder, report-data layout, framing. */
export * from './binder.js';
export * from './frame.js';
