#!/bin/sh
# /usr/local/bin/ratls: runs the single-file bundle (npm run bundle → dist/ratls.cjs).
exec node /usr/local/lib/ratls/ratls.cjs "$@"
